import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_NOW } from '../fixtures/small-fleet.js';
import { lines, record, tempDir } from '../helpers.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, MCP_BLACKBOX_DB: '', MCP_BLACKBOX_STORE: '' } });

describe('the CLI on a ClickHouse store (chdb)', () => {
  it('ingest --store writes into ClickHouse with the same counts as into DuckDB; migrate copies a DuckDB file across, verified', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), lines(record('e1'), record('e1'), '{bad', record('e2', { status: 'nope' }), record('e3', { status: 'running', ended_at: undefined }), record('e3')));
    const duck = cli('ingest', dir, '--db', join(dir, 'x.duckdb'), '--now', FIXTURE_NOW, '--json');
    const house = cli('ingest', dir, '--store', `chdb:${join(dir, 'ch')}/fleet`, '--now', FIXTURE_NOW, '--json');
    expect(house.status, house.stderr).toBe(0);
    const strip = (text: string) => {
      const { seconds: _s, ...summary } = JSON.parse(text);
      return summary;
    };
    expect(strip(house.stdout)).toEqual(strip(duck.stdout));
    expect(strip(house.stdout)).toMatchObject({ inserted: 2, duplicates: 2, quarantined: { invalid_json: 1, 'invalid_value:status': 1 } });

    const migrated = cli('migrate', '--from', join(dir, 'x.duckdb'), '--to', `chdb:${join(dir, 'ch2')}/fleet`);
    expect(migrated.status, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/executions\s+2\s+2\n/);
    expect(migrated.stdout).toMatch(/quarantined lines\s+2\s+2\n/);
    expect(migrated.stdout).toContain('Verified: every count matches.');
  });

  it('bad locations and commands the ClickHouse store does not run yet say what to do, and exit 2', () => {
    const dir = tempDir();
    const both = cli('ingest', dir, '--db', 'x.duckdb', '--store', 'clickhouse://h/db');
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/Give --db or --store, not both/);
    const bad = cli('ingest', dir, '--store', 'clickhouse://u:hunter2@h/bad-name');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/database "bad-name" is not a plain name/);
    expect(bad.stderr).not.toContain('hunter2');
    const toDuck = cli('migrate', '--from', join(dir, 'x.duckdb'), '--to', join(dir, 'y.duckdb'));
    expect(toDuck.status).toBe(2);
    expect(toDuck.stderr).toMatch(/is a DuckDB path: migrate copies a DuckDB file into ClickHouse/);
    // A ClickHouse store in the environment: a command that runs on DuckDB only says so, and opens no file beside it.
    const summary = spawnSync(process.execPath, [CLI, 'summary'], { encoding: 'utf8', cwd: dir, env: { ...process.env, MCP_BLACKBOX_DB: '', MCP_BLACKBOX_STORE: 'clickhouse://u:hunter2@h/fleet' } });
    expect(summary.status).toBe(2);
    expect(summary.stderr).toMatch(/clickhouse:\/\/h:8123\/fleet \(user u\) \(from MCP_BLACKBOX_STORE\) is a ClickHouse store; this command works on a DuckDB file only so far/);
    expect(summary.stderr).not.toContain('hunter2');
    expect(existsSync(join(dir, 'blackbox.duckdb'))).toBe(false);
    // Nothing listens on this port: refused, named, nothing written.
    const down = cli('ingest', dir, '--store', 'clickhouse://default@127.0.0.1:9/fleet');
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/ClickHouse at clickhouse:\/\/127\.0\.0\.1:9\/fleet \(user default\) cannot be reached/);
  });
});
