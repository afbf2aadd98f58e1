import { isUtf8 } from 'node:buffer';
import { MAX_LINE_BYTES, QUARANTINE_RAW_CAP } from './format.js';
import type { LineBlock } from './lines.js';
import { unstorableReason } from './storable.js';
import { recordReason, tasksGiven, tasksOf, unknownFields } from './validate.js';
import { isToolListLine, parseToolList, type ToolListRecord } from './catalog-record.js';
import type { Reject, StorableBatch } from '../store/ingest-write.js';

export type { Reject } from '../store/ingest-write.js';

/**
 * A batch ready for the store (StorableBatch): its valid records as NDJSON for DuckDB's read_json,
 * each carrying `__line` (its line number), `__tasks` (its resolved cost), `__tasks_given`
 * (whether that cost was stated) and, only when it has fields the format does not name,
 * `__attributes`; its rejected lines with their reasons; its tool lists (the catalog record type).
 */
export interface PreparedBatch extends StorableBatch {
  toolLists: ToolListRecord[];
  /** Returns the staging buffer for reuse, once it has been handed to the store. */
  release(): void;
}

/**
 * Output buffers are recycled: touching fresh memory costs a page fault per 4 KiB on this kind
 * of machine, more than the copying itself. Two are enough while batches are committed in turn.
 */
const freeBuffers: Buffer[] = [];

function acquire(size: number): Buffer {
  const index = freeBuffers.findIndex((b) => b.length >= size);
  if (index !== -1) return freeBuffers.splice(index, 1)[0]!;
  freeBuffers.sort((a, b) => a.length - b.length).shift(); // drop the smallest rather than keep many
  return Buffer.allocUnsafe(size);
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const OPEN_BRACE = 0x7b;

function isBlank(data: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = data[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  }
  return true;
}

/**
 * Parses and validates each line once, in JavaScript, and hands DuckDB only valid records: the
 * store then reads them with typed read_json, its fastest path (the ceiling in bench/results.md), instead of
 * probing every field of every raw line with JSON functions in SQL. A valid line is copied as
 * bytes with a small prefix spliced after its `{`; only a line with unknown fields is
 * re-serialised (to carry them in `__attributes`).
 */
export function prepareBatch(block: LineBlock, now: Date): PreparedBatch {
  const steps = prepareSteps(block, now);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/**
 * The same, giving the event loop a turn every LINES_PER_TURN lines: the watcher and HTTP ingest
 * share the process with the MCP server, and validating a second's worth of lines in one go
 * would hold every tool call waiting behind it.
 */
export async function prepareBatchYielding(block: LineBlock, now: Date): Promise<PreparedBatch> {
  const steps = prepareSteps(block, now);
  let step = steps.next();
  while (!step.done) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    step = steps.next();
  }
  return step.value;
}

const LINES_PER_TURN = 1000;

function* prepareSteps(block: LineBlock, now: Date): Generator<void, PreparedBatch> {
  const data = block.data;
  const rejects: Reject[] = block.rejects.map((r) => ({ lineNo: r.lineNo, reason: r.reason, raw: r.head }));
  let out = acquire(Math.max(1024, Math.ceil(data.length * 1.15) + 4096));
  let o = 0;
  const ensure = (extra: number) => {
    if (o + extra <= out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, o + extra + 4096));
    out.copy(bigger, 0, 0, o);
    out = bigger;
  };
  let valid = 0;
  const toolLists: ToolListRecord[] = [];
  // Invalid UTF-8 reaches DuckDB as bytes and fails the whole read: find the lines that hold it,
  // checking line by line only when the block as a whole is not valid.
  const allUtf8 = isUtf8(data);
  let lineNo = block.firstLineNo;
  let start = 0;
  while (start <= data.length) {
    let end = data.indexOf(NEWLINE, start);
    if (end === -1) end = data.length;
    let stop = end;
    if (stop > start && data[stop - 1] === CR) stop--;
    if (stop > start && !isBlank(data, start, stop)) {
      let text = data.toString('utf8', start, Math.min(stop, start + MAX_LINE_BYTES + 1));
      // A UTF-8 byte order mark (files saved by some editors) is not part of the JSON.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      let record: unknown;
      let reason: string | null;
      let extra: Record<string, unknown> | null = null;
      let toolList: ToolListRecord | undefined;
      // One limit for every source: the file reader rejects longer lines before they get here.
      if (stop - start > MAX_LINE_BYTES) reason = 'line_too_long';
      else if (!allUtf8 && !isUtf8(data.subarray(start, stop))) reason = 'invalid_utf8';
      else {
        try {
          record = JSON.parse(text);
          if (isToolListLine(record)) {
            const list = parseToolList(record);
            reason = 'reason' in list ? list.reason : null;
            if ('record' in list) toolList = list.record;
          } else reason = recordReason(record, now);
          if (!reason && !toolList) {
            extra = unknownFields(record as Record<string, unknown>);
            reason = unstorableReason(record as Record<string, unknown>, text, extra);
          }
        } catch {
          reason = 'invalid_json';
        }
      }
      if (reason) {
        rejects.push({ lineNo, reason, raw: text.length > QUARANTINE_RAW_CAP ? text.slice(0, QUARANTINE_RAW_CAP) : text });
      } else if (toolList) {
        toolLists.push(toolList);
      } else {
        const rec = record as Record<string, unknown>;
        const prefix = `{"__line":${lineNo},"__tasks":${tasksOf(rec)},"__tasks_given":${tasksGiven(rec)}`;
        if (extra) {
          // Rare: re-serialise so the unknown fields travel in one known column (and a record's
          // own `__line`-like keys cannot collide with ours).
          const known = Object.fromEntries(Object.entries(rec).filter(([key]) => !(key in extra)));
          const line = `${prefix},"__attributes":${JSON.stringify(extra)},${JSON.stringify(known).slice(1)}`;
          ensure(Buffer.byteLength(line) + 1);
          o += out.write(line, o, 'utf8');
        } else {
          const brace = data.indexOf(OPEN_BRACE, start);
          ensure(prefix.length + 1 + (stop - brace) + 1);
          o += out.write(prefix, o, 'latin1');
          // `{}` cannot be valid (required fields), so a comma always follows the prefix.
          out[o++] = 0x2c;
          out.set(data.subarray(brace + 1, stop), o);
          o += stop - brace - 1;
        }
        out[o++] = NEWLINE;
        valid++;
      }
    }
    lineNo++;
    start = end + 1;
    if ((lineNo - block.firstLineNo) % LINES_PER_TURN === 0) yield;
  }
  const owned = out;
  let released = false;
  return {
    staging: out.subarray(0, o),
    valid,
    rejects,
    toolLists,
    release: () => {
      if (!released && freeBuffers.length < 2) freeBuffers.push(owned);
      released = true;
    },
  };
}
