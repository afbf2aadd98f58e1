#!/usr/bin/env node
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { splitLines } from '../src/ingest/lines.js';
import { prepareBatch } from '../src/ingest/prepare.js';
import { writeDataset } from './dataset.js';

/**
 * The spike of the write-path redesign (issue 24): what storing typed rows costs in each design,
 * before any code moves. Rows come typed from a bench database (so JSON parsing is left out), are
 * stored in 8 transactions as file ingest does, then checkpointed:
 * - keyed: the table's unique index on execution_key, as today;
 * - keyed + anti-join: the same, new rows chosen by NOT EXISTS on the key;
 * - append + span anti-join: no index; new rows chosen against stored rows of the batch's time span;
 * - append: no index, no deduplication (the floor: what storing alone costs).
 * Then the other half of a load that skips DuckDB's JSON reader: JavaScript values through the
 * appender, 1M rows of 30 columns.
 */
export interface WritePathSpikeResult {
  rows: number;
  /** JavaScript's share of today's ingest: reading the file's lines, parsing and validating each, writing the staging bytes. */
  validate?: { lines: number; ms: number };
  designs: Array<{ design: string; load: number; checkpoint: number }>;
  appender: number;
}

const DESIGNS = ['keyed', 'keyed + anti-join', 'append + span anti-join', 'append'] as const;

export async function writePathSpike(source: string, rows: number): Promise<WritePathSpikeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-blackbox-spike-'));
  const designs: WritePathSpikeResult['designs'] = [];
  try {
    for (const design of DESIGNS) {
      const instance = await DuckDBInstance.create(join(dir, `${designs.length}.duckdb`), { memory_limit: '1GB' });
      const c = await instance.connect();
      try {
        await c.run(`ATTACH '${source.replaceAll("'", "''")}' AS src (READ_ONLY)`);
        await c.run(`CREATE TEMP TABLE batch AS SELECT row_number() OVER (ORDER BY started_at) AS rn, * FROM (SELECT * FROM src.executions ORDER BY started_at LIMIT ${rows})`);
        await c.run('CREATE TABLE executions AS SELECT * FROM src.executions LIMIT 0');
        if (design.startsWith('keyed')) await c.run('CREATE UNIQUE INDEX executions_key ON executions (execution_key)');
        await c.run('DETACH src');
        const chunk = Math.ceil(rows / 8);
        let started = performance.now();
        for (let i = 0; i < 8; i++) {
          const part = `SELECT * EXCLUDE (rn) FROM batch WHERE rn > ${i * chunk} AND rn <= ${(i + 1) * chunk}`;
          await c.run('BEGIN');
          if (design === 'keyed + anti-join') {
            await c.run(`INSERT INTO executions SELECT * FROM (${part}) b WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.execution_key = b.execution_key)`);
          } else if (design === 'append + span anti-join') {
            const span = (await (await c.runAndReadAll(`SELECT min(started_at)::VARCHAR AS lo, max(started_at)::VARCHAR AS hi FROM (${part})`)).getRowObjectsJson())[0] as { lo: string; hi: string };
            await c.run(`INSERT INTO executions SELECT * FROM (${part}) b WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.started_at BETWEEN '${span.lo}' AND '${span.hi}' AND e.execution_id = b.execution_id)`);
          } else {
            await c.run(`INSERT INTO executions ${part}`);
          }
          await c.run('COMMIT');
        }
        const load = performance.now() - started;
        started = performance.now();
        await c.run('CHECKPOINT');
        designs.push({ design, load: Math.round(load), checkpoint: Math.round(performance.now() - started) });
      } finally {
        c.closeSync();
        instance.closeSync();
      }
    }
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    await c.run(`CREATE TABLE t (${Array.from({ length: 30 }, (_, i) => `c${i} ${i % 3 === 0 ? 'DOUBLE' : 'VARCHAR'}`).join(', ')})`);
    const started = performance.now();
    const appender = await c.createAppender('t');
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < 30; i++) {
        if (i % 3 === 0) appender.appendDouble(r + i);
        else appender.appendVarchar(i % 2 ? 'github_search_code' : 'u_dev_bot');
      }
      appender.endRow();
    }
    appender.flushSync();
    appender.closeSync();
    const appended = Math.round(performance.now() - started);
    c.closeSync();
    instance.closeSync();
    // The part every design keeps: each line parsed and checked once in JavaScript.
    const file = join(dir, 'dataset.ndjson');
    await writeDataset(file, rows);
    let lines = 0;
    const validated = performance.now();
    const now = new Date();
    for await (const block of splitLines(createReadStream(file), { batchBytes: 8 * 1024 * 1024, trailingPartialLine: 'emit' })) {
      const batch = prepareBatch(block, now);
      lines = block.endLineNo;
      batch.release();
    }
    return { rows, designs, appender: appended, validate: { lines, ms: Math.round(performance.now() - validated) } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { src: { type: 'string' }, rows: { type: 'string', default: '1000000' } } });
  if (!values.src) throw new Error('--src <bench database> is required');
  const result = await writePathSpike(values.src, Number(values.rows));
  process.stdout.write(`| design | load ms | checkpoint ms | total ms |\n| --- | ---: | ---: | ---: |\n`);
  for (const d of result.designs) process.stdout.write(`| ${d.design} | ${d.load} | ${d.checkpoint} | ${d.load + d.checkpoint} |\n`);
  process.stdout.write(`\nappender, ${result.rows} rows x 30 columns from JavaScript: ${result.appender} ms\n`);
  process.stdout.write(`JavaScript validation of the same ${result.rows} executions as NDJSON (${result.validate?.lines} lines, read, parsed, checked, staged): ${result.validate?.ms} ms\n`);
}
