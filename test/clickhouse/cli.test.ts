import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { verifyChains } from '../../src/access/audit.js';
import { fixedClock } from '../../src/clock.js';
import { ClickHouseAuditStorage } from '../../src/store/clickhouse/audit.js';
import { ClickHouseStore } from '../../src/store/clickhouse/store.js';
import { FIXTURE_NOW, smallFleet } from '../fixtures/small-fleet.js';
import { lines, record, tempDir, writtenEvents } from '../helpers.js';

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
    // A past range sent again from the shared store, through a sink of a local export file.
    writeFileSync(join(dir, 'export.json'), JSON.stringify({ sinks: { backfill: { type: 'file', dir: join(dir, 'backfill'), streams: ['executions'] } } }));
    const replayed = cli('export', '--store', `chdb:${join(dir, 'ch')}/fleet`, '--sink', 'backfill', '--export', join(dir, 'export.json'), '--from', '2026-10-30T00:00:00Z', '--to', '2026-10-31T00:00:00Z');
    expect(replayed.status, replayed.stderr).toBe(0);
    expect(replayed.stdout).toBe("export backfill: sent 2 event(s) of 2026-10-30T00:00:00.000Z .. 2026-10-31T00:00:00.000Z (file, policy masked); the sink's cursor was not moved.\n");
    const backfilled = readFileSync(join(dir, 'backfill', 'mcp-blackbox.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { metadata: { uid: string }; mcp: { status: string } });
    expect(backfilled.map((e) => [e.metadata.uid, e.mcp.status])).toEqual([['e1', 'succeeded'], ['e3', 'succeeded']]);

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
    const grpc = cli('serve', '--store', `chdb:${join(dir, 'ch')}/fleet`, '--otlp-grpc', '127.0.0.1:0');
    expect(grpc.status).toBe(2);
    expect(grpc.stderr).toMatch(/--otlp-grpc goes with --http: the HTTP server and the gRPC port share their auth\./);
    // Nothing listens on this port: refused, named, nothing written.
    const down = cli('ingest', dir, '--store', 'clickhouse://default@127.0.0.1:9/fleet');
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/ClickHouse at clickhouse:\/\/127\.0\.0\.1:9\/fleet \(user default\) cannot be reached/);
  });
});

describe('serve --store on ClickHouse (chdb), over stdio', () => {
  it('answers the fleet questions through a real MCP client, keeps alert rules, audits an unmask in its own chain, and exports both streams', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fleet.jsonl'), smallFleet().map((r) => JSON.stringify(r)).join('\n'));
    const exported = join(dir, 'siem');
    writeFileSync(join(dir, 'export.json'), JSON.stringify({ sinks: { archive: { type: 'file', dir: exported } } }));
    const store = `chdb:${join(dir, 'ch')}/fleet`;
    expect(cli('ingest', dir, '--store', store, '--now', FIXTURE_NOW).status).toBe(0);

    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'serve', '--store', store, '--now', FIXTURE_NOW, '--as', 'u_admin', '--no-spool', '--export', join(dir, 'export.json')],
      env: { ...process.env, MCP_BLACKBOX_DB: '', MCP_BLACKBOX_STORE: '', MCP_BLACKBOX_AUDIT_KEY: 'k'.repeat(32) } as Record<string, string>,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['usage_summary', 'who_drove_spike', 'trace_execution', 'unmask_execution', 'fleet_catalog']));
      expect(names).toEqual(expect.arrayContaining(['list_alerts', 'create_alert_rule', 'audit_log', 'export_status']));
      const usage = (await client.callTool({ name: 'usage_summary', arguments: { window: '30d' } })) as CallToolResult;
      expect(usage.isError).toBeFalsy();
      expect((usage.structuredContent as { total_executions: number }).total_executions).toBeGreaterThan(50);
      const unmask = (await client.callTool({ name: 'unmask_execution', arguments: { execution_id: 'wf_ok', reason: 'INC-42 checking the payload' } })) as CallToolResult;
      expect(unmask.isError, JSON.stringify(unmask.content)).toBeFalsy();
      // Alert rules kept in ClickHouse: made through the tools, listed, backtested by name.
      const created = (await client.callTool({ name: 'create_alert_rule', arguments: { rule: { name: 'any-failure', kind: 'failures', threshold: 0, window: '1d' } } })) as CallToolResult;
      expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
      const listed = (await client.callTool({ name: 'alert_rules', arguments: {} })) as CallToolResult;
      expect((listed.structuredContent as { rules: Array<{ name: string }> }).rules.map((r) => r.name)).toEqual(['any-failure']);
      const backtest = (await client.callTool({ name: 'backtest_alert_rule', arguments: { name: 'any-failure', window: '30d' } })) as CallToolResult;
      expect(backtest.isError, JSON.stringify(backtest.content)).toBeFalsy();
      expect((backtest.structuredContent as { firings: number }).firings).toBeGreaterThan(0);
      const alerts = (await client.callTool({ name: 'list_alerts', arguments: {} })) as CallToolResult;
      expect(alerts.isError, JSON.stringify(alerts.content)).toBeFalsy();
      // The audit trail over this instance's chain: the unmask with its reason, each event naming its chain.
      const audit = (await client.callTool({ name: 'audit_log', arguments: { action: 'unmask' } })) as CallToolResult;
      expect(audit.isError, JSON.stringify(audit.content)).toBeFalsy();
      const trail = audit.structuredContent as { total_matching: number; events: Array<{ chain: string; target: string; reason: string }>; chain: { ok: boolean; keyed: boolean } };
      expect(trail.total_matching).toBe(1);
      expect(trail.events).toEqual([expect.objectContaining({ chain: expect.stringMatching(/:/), target: 'wf_ok', reason: 'INC-42 checking the payload' })]);
      expect(trail.chain).toMatchObject({ ok: true, keyed: true });
      expect((audit.content as Array<{ text: string }>)[0]!.text).toMatch(/^1 audit event .*; the chain verifies \(\d+ events\)\.\n#1 of \S+ \S+ u_admin \(admin\) unmask wf_ok: "INC-42 checking the payload"/);
      // The one instance holds the sink's lease and sends every execution, and the unmask once settled (ten seconds).
      const file = join(exported, 'mcp-blackbox.ndjson');
      const events = () => writtenEvents<{ metadata: { log_name: string; uid: string }; api: { operation: string; request?: { uid: string } } }>(file);
      const deadline = Date.now() + 60_000;
      while (!events().some((e) => e.api.operation === 'audit/unmask') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      const executions = events().filter((e) => e.metadata.log_name === 'executions').map((e) => e.metadata.uid);
      expect(executions.sort()).toEqual([...new Set(smallFleet().map((r) => r.execution_id as string))].sort());
      expect(events().filter((e) => e.api.operation === 'audit/unmask').map((e) => e.api.request?.uid)).toEqual(['wf_ok']);
      // export_status reads the sink's cursors and log from ClickHouse: everything sent, nothing behind
      // (once the cursor has moved past the batch just written, and the batch's log row, stored after
      // its cursor, has followed).
      const exportStatus = async () => (await client.callTool({ name: 'export_status', arguments: {} })) as CallToolResult;
      const settled = (s: CallToolResult) => {
        const sink = (s.structuredContent as { sinks: Array<{ lag_events: number; sent: number }> }).sinks[0];
        return sink?.lag_events === 0 && sink.sent === events().length;
      };
      let status = await exportStatus();
      while (!settled(status) && Date.now() < deadline) status = await exportStatus();
      expect(status.isError, JSON.stringify(status.content)).toBeFalsy();
      expect((status.structuredContent as { sinks: unknown[] }).sinks).toEqual([
        expect.objectContaining({ name: 'archive', type: 'file', streams: ['executions', 'audit', 'alerts'], lag_events: 0, sent: events().length, last_error: null }),
      ]);
      expect((status.content as Array<{ text: string }>)[0]!.text).toContain(`archive (file, masked): ${events().length} sent, 0 behind`);
    } finally {
      await client.close();
    }
    // The server is gone: audit verify checks its chain, with the key, and fails without it.
    const verified = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--store', store], { encoding: 'utf8', env: { ...process.env, MCP_BLACKBOX_AUDIT_KEY: 'k'.repeat(32) } });
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^audit chains OK: 1 chain\(s\), one per instance, HMAC with MCP_BLACKBOX_AUDIT_KEY\n  \S+: OK, \d+ events, head \d+\n$/);
    const unkeyed = cli('audit', 'verify', '--store', store, '--json');
    expect(unkeyed.status).toBe(1);
    expect(JSON.parse(unkeyed.stdout)).toMatchObject({ ok: false, chains: [{ ok: false }] });
    // Its chain holds the unmask, and it verifies with the key.
    const house = await ClickHouseStore.open({ engine: 'chdb', path: join(dir, 'ch'), database: 'fleet' }, fixedClock(new Date(FIXTURE_NOW)));
    try {
      const chains = await verifyChains(new ClickHouseAuditStorage(house.ch), { key: 'k'.repeat(32) });
      expect(chains).toHaveLength(1);
      expect(chains[0]).toMatchObject({ ok: true, keyed: true });
      const events = (await new ClickHouseAuditStorage(house.ch).chains()).get(chains[0]!.chain)!;
      expect(events.map((e) => [e.action, e.target, e.reason])).toContainEqual(['unmask', 'wf_ok', 'INC-42 checking the payload']);
    } finally {
      await house.close();
    }
  });
});
