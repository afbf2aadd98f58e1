import { MAX_LINE_BYTES, MAX_NESTING_DEPTH, QUARANTINE_RAW_CAP } from './format.js';
import { nestingExceeds, unstorableReason } from './storable.js';
import { unknownFields } from './validate.js';

/** A run of consecutive input lines, kept as bytes: they go to DuckDB without becoming JS strings. */
export interface LineBlock {
  /** Number of the first line of `text` (1-based within its source). */
  firstLineNo: number;
  /** The lines, joined by '\n', blank lines included so numbering holds. */
  data: Buffer;
  /** Lines the reader already rejected (too long to hold); they stand as empty lines in `text`. */
  rejects: Array<{ lineNo: number; head: string; reason: string }>;
}

/** `data` is a view on a buffer the splitter reuses: it is valid until the next batch is requested. */
export interface LineBatch extends LineBlock {
  /** Absolute byte offset just past the last complete line of this batch. */
  endOffset: number;
  /** Number of the last line consumed. */
  endLineNo: number;
}

export interface SplitOptions {
  /** Number of the line before the first one read (0 at the start of a file). */
  startLineNo?: number;
  /** Absolute offset of the first byte read, so that `endOffset` is absolute too. */
  startOffset?: number;
  /** Roughly how many bytes of lines make one batch (one transaction). */
  batchBytes?: number;
  /**
   * Text after the last newline at end of input: a file read whole treats it as a line; a tailed
   * file holds it back, because its writer may not have finished it yet.
   */
  trailingPartialLine: 'emit' | 'hold';
}

const NEWLINE = 0x0a;

/** Builds a block from lines already in memory (an HTTP body, a test). */
export function blockFromText(text: string, firstLineNo = 1): LineBlock {
  return { firstLineNo, data: Buffer.from(text, 'utf8'), rejects: [] };
}

/**
 * Records already parsed (the items of a JSON body, mapped OTLP spans) as a block, one line each.
 * An item nested too deep would overflow the stack when serialised: it is rejected in place, with
 * the reason the line reader gives, and stands as an empty line so that numbering holds.
 */
export function blockFromRecords(items: readonly unknown[]): LineBlock {
  const rejects: LineBlock['rejects'] = [];
  const lines = items.map((item, i) => {
    if (!nestingExceeds(item, MAX_NESTING_DEPTH + 1)) return JSON.stringify(item) ?? 'null';
    const record = item !== null && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : undefined;
    const reason = (record && unstorableReason(record, '', unknownFields(record))) || 'too_deep:record';
    rejects.push({ lineNo: i + 1, head: '(not kept: nested too deep to show)', reason });
    return '';
  });
  return { ...blockFromText(lines.join('\n')), rejects };
}

/**
 * Splits a byte stream into batches of whole lines. It works on bytes, so offsets are exact for
 * checkpoints, and a line over MAX_LINE_BYTES is never held whole in memory: it becomes a reject
 * (`line_too_long`) carrying its first bytes.
 */
export async function* splitLines(input: AsyncIterable<Buffer>, options: SplitOptions): AsyncGenerator<LineBatch> {
  // 32 MiB of lines per transaction: large enough to amortise each batch's fixed cost, small
  // enough that the batch, its prepared copy and DuckDB stay under 1 GiB together.
  const batchBytes = options.batchBytes ?? 32 * 1024 * 1024;
  let lineNo = options.startLineNo ?? 0; // last line finished
  let consumed = options.startOffset ?? 0; // just past the last newline seen
  // Complete lines of the current batch, newlines included, in one buffer reused across batches:
  // fresh memory is expensive to touch (page faults), so a batch's bytes land in warm pages.
  let acc = Buffer.allocUnsafe(Math.min(batchBytes, 8 * 1024 * 1024) + 2 * 1024 * 1024);
  let accBytes = 0;
  const append = (bytes: Buffer, from = 0, to = bytes.length): void => {
    const n = to - from;
    if (accBytes + n > acc.length) {
      const bigger = Buffer.allocUnsafe(Math.max(acc.length * 2, accBytes + n + 1024 * 1024));
      acc.copy(bigger, 0, 0, accBytes);
      acc = bigger;
    }
    bytes.copy(acc, accBytes, from, to);
    accBytes += n;
  };
  const NL = Buffer.from('\n');
  let rejects: LineBatch['rejects'] = [];
  let firstLineNo = lineNo + 1;
  let unfinished: Buffer[] = []; // the current line, or only its head once it is oversized
  let unfinishedBytes = 0; // true length of the current line so far

  const take = (): LineBatch => {
    let data = acc.subarray(0, accBytes);
    if (data.length > 0 && data[data.length - 1] === NEWLINE) data = data.subarray(0, data.length - 1);
    const batch = { firstLineNo, data, rejects, endOffset: consumed, endLineNo: lineNo };
    accBytes = 0;
    rejects = [];
    firstLineNo = lineNo + 1;
    return batch;
  };

  const finishLine = (tail: Buffer, newline: boolean): void => {
    lineNo++;
    const length = unfinishedBytes + tail.length;
    if (length > MAX_LINE_BYTES) {
      const head = Buffer.concat([...unfinished, tail.subarray(0, QUARANTINE_RAW_CAP)]).subarray(0, QUARANTINE_RAW_CAP);
      rejects.push({ lineNo, head: head.toString('utf8'), reason: 'line_too_long' });
      append(NL);
    } else {
      for (const piece of unfinished) append(piece);
      append(tail);
      if (newline) append(NL);
    }
    consumed += length + (newline ? 1 : 0);
    unfinished = [];
    unfinishedBytes = 0;
  };

  const hold = (bytes: Buffer): void => {
    if (unfinishedBytes + bytes.length <= MAX_LINE_BYTES) {
      unfinished.push(Buffer.from(bytes)); // copy: the stream may reuse its chunk
    } else if (unfinishedBytes <= MAX_LINE_BYTES) {
      // The line just became oversized: keep only enough of it to show in quarantine.
      unfinished = [Buffer.concat([...unfinished, bytes]).subarray(0, QUARANTINE_RAW_CAP)];
    }
    unfinishedBytes += bytes.length;
  };

  for await (const chunk of input) {
    let start = 0;
    if (unfinishedBytes > 0) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        hold(chunk);
        continue;
      }
      finishLine(chunk.subarray(0, nl), true);
      start = nl + 1;
    }
    const lastNl = chunk.lastIndexOf(NEWLINE);
    const scan = lastNl >= start ? scanLines(chunk, start, lastNl) : undefined;
    if (scan && !scan.longLine) {
      // Fast path: the whole lines of this chunk in one copy, or, when they overflow the batch,
      // in pieces cut at the first line end past batchBytes (a read chunk may hold many batches).
      let linesLeft = scan.lines;
      while (start <= lastNl) {
        const overflow = lastNl + 1 - start > batchBytes - accBytes;
        const cut = overflow ? chunk.indexOf(NEWLINE, start + Math.max(0, batchBytes - accBytes - 1)) : lastNl;
        const pieceLines = cut === lastNl ? linesLeft : countNewlines(chunk, start, cut);
        lineNo += pieceLines;
        linesLeft -= pieceLines;
        append(chunk, start, cut + 1);
        consumed += cut + 1 - start;
        start = cut + 1;
        if (overflow) yield take();
      }
    }
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      finishLine(chunk.subarray(start, nl), true);
      start = nl + 1;
    }
    if (start < chunk.length) hold(chunk.subarray(start));
    if (accBytes >= batchBytes) yield take();
  }
  if (unfinishedBytes > 0 && options.trailingPartialLine === 'emit') finishLine(Buffer.alloc(0), false);
  // Also when only blank lines remain: the checkpoint must still move past them.
  if (accBytes > 0 || rejects.length > 0) yield take();
}

/**
 * One pass over the whole lines in chunk[start..end] (end is a newline): how many there are, and
 * whether one is longer than MAX_LINE_BYTES (only then the line-by-line slow path).
 */
function scanLines(chunk: Buffer, start: number, end: number): { lines: number; longLine: boolean } {
  let lines = 0;
  let longLine = false;
  let previous = start - 1;
  for (let i = chunk.indexOf(NEWLINE, start); i !== -1 && i <= end; i = chunk.indexOf(NEWLINE, i + 1)) {
    if (i - previous - 1 > MAX_LINE_BYTES) longLine = true;
    previous = i;
    lines++;
  }
  return { lines, longLine };
}

/** Newlines in chunk[start..end], end included. */
function countNewlines(chunk: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = chunk.indexOf(NEWLINE, start); i !== -1 && i <= end; i = chunk.indexOf(NEWLINE, i + 1)) n++;
  return n;
}
