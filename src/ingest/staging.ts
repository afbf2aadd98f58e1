import type { LineBlock } from './lines.js';

/** Separates line number and line in the staging file; it can never occur in valid JSON. */
const FIELD = 0x01;
/** The CSV reader's quote and escape character, so that quotes in JSON stay as they are. */
const QUOTE = 0x02;
const NEWLINE = 0x0a;
const CR = 0x0d;

export interface StagedBlock {
  /** `<line number>\\x01<line>\\n` for each non-blank line, ready for DuckDB's CSV reader. */
  buffer: Buffer;
  lines: number;
  rejects: LineBlock['rejects'];
}

function isBlank(data: Buffer, start: number, end: number): boolean {
  // Almost every line starts with '{': decide on the first byte.
  for (let i = start; i < end; i++) {
    const b = data[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  }
  return true;
}

/**
 * Numbers the lines of a block for DuckDB, which then reads them in parallel with read_csv: the
 * cheapest way found to get millions of raw lines, with their numbers, into the database (one
 * appender call per line, or one giant string split in SQL, cost several times more).
 * A line holding byte 0x01 or 0x02 is not valid JSON (raw control characters are not allowed);
 * it is rejected here as invalid_json rather than confusing the CSV reader.
 */
export function encodeStaging(block: LineBlock): StagedBlock {
  const data = block.data;
  const rejects = [...block.rejects];
  // Only a line holding 0x01 or 0x02 needs a per-line check; most blocks hold none.
  const suspect = data.includes(FIELD) || data.includes(QUOTE);
  const out = Buffer.allocUnsafe(data.length + 21 * (countLines(data) + 1));
  let o = 0;
  let lines = 0;
  let lineNo = block.firstLineNo;
  let start = 0;
  while (start <= data.length) {
    let end = data.indexOf(NEWLINE, start);
    if (end === -1) end = data.length;
    let stop = end;
    if (stop > start && data[stop - 1] === CR) stop--;
    if (stop > start && !isBlank(data, start, stop)) {
      if (suspect && hasControl(data, start, stop)) {
        rejects.push({ lineNo, head: data.subarray(start, Math.min(stop, start + 8192)).toString('utf8'), reason: 'invalid_json' });
      } else {
        o = writeDigits(out, o, lineNo);
        out[o++] = FIELD;
        o += data.copy(out, o, start, stop);
        out[o++] = NEWLINE;
        lines++;
      }
    }
    lineNo++;
    start = end + 1;
  }
  return { buffer: out.subarray(0, o), lines, rejects };
}

function hasControl(data: Buffer, start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) if (data[i] === FIELD || data[i] === QUOTE) return true;
  return false;
}

/** The decimal digits of a positive integer, without making a string. */
function writeDigits(out: Buffer, at: number, value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  let v = value;
  for (let i = at + digits - 1; i >= at; i--) {
    out[i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return at + digits;
}

function countLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(NEWLINE); i !== -1; i = data.indexOf(NEWLINE, i + 1)) n++;
  return n;
}
