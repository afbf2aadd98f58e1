import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { incidentFleet, toolLists } from '../fixtures/incident-fleet.js';
import { tempDir } from '../helpers.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, MCP_BLACKBOX_DB: '', ...env }, timeout: 60_000 });

const ALERTS_YAML = `
channels:
  oncall:
    type: webhook
    url: env:ONCALL_URL
    secret: env:ONCALL_SECRET
rules:
  - name: jira-errors
    kind: error_rate
    group_by: tool
    window: 15m
    threshold: 0.2
    min_executions: 10
    channels: [oncall]
    severity: critical
  - name: fleet-spike
    kind: volume_spike
    factor: 3
    min_count: 50
`;

function fleetDb(dir: string): string {
  writeFileSync(join(dir, 'fleet.jsonl'), [...toolLists(), ...incidentFleet()].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const db = join(dir, 'fleet.duckdb');
  const ingest = cli(['ingest', join(dir, 'fleet.jsonl'), '--db', db, '--now', '2026-11-15T00:00:00Z', '--quiet']);
  expect(ingest.status, ingest.stderr).toBe(0);
  return db;
}

describe('alerts from the command line', () => {
  it('alerts test backtests a file; serve --alerts notifies its webhook; alerts list and backtest go through the serving owner', async () => {
    const dir = tempDir();
    const db = fleetDb(dir);
    const file = join(dir, 'alerts.yaml');
    writeFileSync(file, ALERTS_YAML);
    const received: Array<{ headers: Record<string, unknown>; body: string }> = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const env = { ONCALL_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, ONCALL_SECRET: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' };

    const tested = cli(['alerts', 'test', file, '--db', db, '--now', '2026-11-15T00:00:00Z', '--window', '14d'], env);
    expect(tested.status, tested.stderr).toBe(0);
    expect(tested.stdout).toContain('1 channel(s) (oncall: webhook), 2 rule(s): valid.');
    expect(tested.stdout).toContain('jira-errors (error rate above 20% over 15m, at least 10 executions (per tool)) would have fired 1 time(s) (1 for jira_create_issue)');
    expect(tested.stdout).toContain('fleet-spike');
    // The secret never shows.
    expect(tested.stdout + tested.stderr).not.toContain('c2VjcmV0');

    const serve = spawn(process.execPath, [CLI, 'serve', '--db', db, '--no-spool', '--now', '2026-11-10T14:20:00Z', '--http', '127.0.0.1:0', '--alerts', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env, MCP_BLACKBOX_DB: '' },
    });
    let stderr = '';
    serve.stderr.on('data', (d) => (stderr += d));
    try {
      const deadline = Date.now() + 20_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toContain('alerts: 2 rule(s) and 1 channel(s) from');
      expect(received).toHaveLength(1);
      const message = JSON.parse(received[0]!.body);
      expect(message).toMatchObject({ version: '4', status: 'firing', commonLabels: { alertname: 'jira-errors', severity: 'critical', group: 'jira_create_issue' } });
      expect(received[0]!.headers['webhook-signature']).toMatch(/^v1,/);

      const url = /serving HTTP on (http:\/\/\S+?):\s/.exec(stderr)![1]!;
      const health = await (await fetch(`${url}/healthz`)).json();
      expect(health.alerts).toMatchObject({ rules: 2, firing: 1, failing_rules: 0 });

      const listed = cli(['alerts', 'list', '--db', db]);
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('jira-errors  error_rate, critical');
      expect(listed.stdout).toContain('FIRING jira_create_issue since 2026-11-10T14:20:00.000Z');
      const backtest = cli(['alerts', 'backtest', 'jira-errors', '--db', db, '--now', '2026-11-15T00:00:00Z', '--window', '14d']);
      expect(backtest.status, backtest.stderr).toBe(0);
      expect(backtest.stdout).toContain('fired 2026-11-10T14:09:00.000Z');
      const missing = cli(['alerts', 'backtest', 'nope', '--db', db]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain('no rule is named nope');
    } finally {
      serve.kill('SIGTERM');
      await new Promise((r) => serve.once('exit', r));
      await new Promise((r) => hook.close(r));
    }
  });

  it('a bad alerts file stops serve at start with what to fix; alerts test says the same', () => {
    const dir = tempDir();
    const db = join(dir, 'empty.duckdb');
    const cases: Array<[string, RegExp]> = [
      ['rules:\n  - name: r\n    kind: error_ratio\n', /rules\[0\] \(r\): unknown kind "error_ratio"; kind is one of error_rate/],
      ['rules:\n  - name: r\n    kind: failures\n    threshold: lots\n', /rules\[0\] \(r\) \(failures\): threshold: Expected number, received string/],
      ['channels:\n  hook:\n    type: webhook\n    url: file:///etc/passwd\n', /channel hook \(webhook\): url: must be an http\(s\) URL/],
      ['channels: [1, 2]\n', /"channels" is an object of channels by name/],
      ['rules: [\n', /not valid YAML/],
    ];
    for (const [yaml, message] of cases) {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, yaml);
      const test = cli(['alerts', 'test', file, '--db', db]);
      expect(test.status, yaml).toBe(2);
      expect(test.stderr, yaml).toMatch(message);
    }
    // serve reads the file with the same parser: one case shows it stops at start.
    const serve = cli(['serve', '--db', db, '--no-spool', '--http', '127.0.0.1:0', '--alerts', join(dir, 'bad.yaml')]);
    expect(serve.status).toBe(2);
    expect(serve.stderr).toMatch(/not valid YAML/);
  });
});
