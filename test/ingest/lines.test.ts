import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES } from '../../src/ingest/format.js';
import { splitLines, type LineBatch } from '../../src/ingest/lines.js';

async function collect(chunks: Array<string | Buffer>, options: Parameters<typeof splitLines>[1]): Promise<LineBatch[]> {
  const out: LineBatch[] = [];
  // A batch's data is only valid until the next batch is pulled: keep a copy.
  for await (const batch of splitLines(Readable.from(chunks.map((c) => Buffer.from(c))), options)) out.push({ ...batch, data: Buffer.from(batch.data) });
  return out;
}

describe('splitLines', () => {
  it('keeps line numbers and byte offsets exact across chunk boundaries', async () => {
    const batches = await collect(['{"a":1}\n{"b"', ':2}\n\n{"c":3}\n'], { trailingPartialLine: 'emit' });
    expect(batches).toHaveLength(1);
    const [batch] = batches;
    expect(batch!.firstLineNo).toBe(1);
    expect(batch!.data.toString().split('\n')).toEqual(['{"a":1}', '{"b":2}', '', '{"c":3}']);
    expect(batch!.endLineNo).toBe(4);
    expect(batch!.endOffset).toBe(Buffer.byteLength('{"a":1}\n{"b":2}\n\n{"c":3}\n'));
  });

  it('cuts one read chunk into batches of about batchBytes, with exact numbers and offsets', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => `{"n":${i}}`); // 7 bytes each, 8 with the newline
    const batches = await collect([lines.join('\n') + '\n'], { trailingPartialLine: 'emit', batchBytes: 20 });
    expect(batches.map((b) => b.data.toString().split('\n'))).toEqual([lines.slice(0, 3), lines.slice(3, 6), lines.slice(6, 9), lines.slice(9)]);
    expect(batches.map((b) => [b.firstLineNo, b.endLineNo, b.endOffset])).toEqual([[1, 3, 24], [4, 6, 48], [7, 9, 72], [10, 10, 80]]);
  });

  it('holds back a last line without its newline when tailing, and emits it when reading a whole file', async () => {
    const held = await collect(['{"a":1}\n{"b":'], { trailingPartialLine: 'hold' });
    expect(held[0]!.data.toString()).toBe('{"a":1}');
    expect(held[0]!.endOffset).toBe(8);
    expect(held[0]!.endLineNo).toBe(1);

    const emitted = await collect(['{"a":1}\n{"b":'], { trailingPartialLine: 'emit' });
    expect(emitted[0]!.data.toString()).toBe('{"a":1}\n{"b":');
    expect(emitted[0]!.endLineNo).toBe(2);
    expect(emitted[0]!.endOffset).toBe(13);
  });

  it('continues numbering and offsets from a checkpoint', async () => {
    const [batch] = await collect(['{"x":1}\n'], { trailingPartialLine: 'hold', startLineNo: 41, startOffset: 1000 });
    expect(batch!.firstLineNo).toBe(42);
    expect(batch!.endLineNo).toBe(42);
    expect(batch!.endOffset).toBe(1008);
  });

  it('rejects a line over 1 MiB with its head, without holding it whole, and keeps the lines around it', async () => {
    const huge = 'x'.repeat(MAX_LINE_BYTES + 10);
    const chunks = ['{"a":1}\n', huge.slice(0, 600_000), huge.slice(600_000), '\n{"b":2}\n'];
    const [batch] = await collect(chunks, { trailingPartialLine: 'emit' });
    expect(batch!.rejects).toHaveLength(1);
    expect(batch!.rejects[0]!.lineNo).toBe(2);
    expect(batch!.rejects[0]!.reason).toBe('line_too_long');
    expect(batch!.rejects[0]!.head.length).toBeLessThanOrEqual(8192);
    expect(batch!.data.toString().split('\n')).toEqual(['{"a":1}', '', '{"b":2}']);
    expect(batch!.endOffset).toBe(8 + huge.length + 1 + 8);
  });

  it('splits into several batches by size, each ending on a whole line', async () => {
    const body = Array.from({ length: 100 }, (_, i) => `{"i":${i}}`).join('\n') + '\n';
    const batches = await collect([body], { trailingPartialLine: 'emit', batchBytes: 1 });
    // One chunk: the fast path takes it whole, so one batch; feed line by line to force several.
    expect(batches.map((b) => b.endLineNo).at(-1)).toBe(100);
    const many = await collect(body.split(/(?<=\n)/), { trailingPartialLine: 'emit', batchBytes: 50 });
    expect(many.length).toBeGreaterThan(10);
    expect(many.flatMap((b) => b.data.toString().split('\n'))).toEqual(body.trimEnd().split('\n'));
    for (let i = 1; i < many.length; i++) expect(many[i]!.firstLineNo).toBe(many[i - 1]!.endLineNo + 1);
  });
});
