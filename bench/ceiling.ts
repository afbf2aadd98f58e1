#!/usr/bin/env node
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * The ceiling: DuckDB's own read_json of the file into a flat table, no validation, no
 * idempotency, no quarantine. `node dist-bench/bench/ceiling.js <file> <db>` prints seconds and rows.
 */
const [file, dbPath] = process.argv.slice(2);
const instance = await DuckDBInstance.create(dbPath!, { memory_limit: '1GB', autoinstall_known_extensions: 'false' });
const db = await instance.connect();
const started = performance.now();
await db.run(`CREATE TABLE flat AS SELECT * FROM read_json('${file!.replaceAll("'", "''")}', format = 'newline_delimited', ignore_errors = true,
  columns = {execution_id: 'VARCHAR', started_at: 'VARCHAR', ended_at: 'VARCHAR', status: 'VARCHAR', tool: 'JSON', user: 'JSON',
             agent: 'JSON', environment: 'VARCHAR', tasks: 'DOUBLE', cost_usd: 'DOUBLE', input: 'JSON', output: 'JSON', error: 'JSON', steps: 'JSON'})`);
const rows = (await db.runAndReadAll('SELECT count(*)::DOUBLE AS n FROM flat')).getRowObjectsJson()[0]!.n;
await db.run('CHECKPOINT');
process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - started) / 1000, rows })}\n`);
