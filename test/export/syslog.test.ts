import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { AuditLog } from '../../src/access/audit.js';
import { Exporter, exportStatus, SinkRunner } from '../../src/export/exporter.js';
import { parseSink } from '../../src/export/sinks.js';
import { ingestLines } from '../../src/ingest/batch.js';
import { blockFromRecords } from '../../src/ingest/lines.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore, record, tempDir } from '../helpers.js';

/** A real rsyslogd from Debian, on free ports: plain TCP, TLS (a test CA, its certificate for "localhost") and UDP. */
interface Rsyslog {
  ports: { tcp: number; tls: number; udp: number; mtls: number };
  ca: string;
  /** What rsyslog wrote: input name, PRI, and the RFC 5424 fields as it parsed them. */
  lines: () => string[];
  stop: () => Promise<void>;
}

const running: ChildProcess[] = [];
afterAll(() => rmSync(certs, { recursive: true, force: true }));

afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

let certs: string;
beforeAll(() => {
  // A test CA and a server certificate for "localhost" only (hostname verification is on).
  certs = mkdtempSync(join(tmpdir(), 'blackbox-certs-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mcp-blackbox test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(certs, 'ext.cnf'), 'subjectAltName=DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  // A client certificate from the same CA, for the input that requires one (mutual TLS).
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=mcp-blackbox');
  writeFileSync(join(certs, 'client.cnf'), 'extendedKeyUsage=clientAuth\n');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2', '-extfile', 'client.cnf');
});

async function startRsyslog(ports?: Rsyslog['ports']): Promise<Rsyslog> {
  const dir = tempDir();
  mkdirSync(join(dir, 'work'));
  const p = ports ?? { tcp: await freePort(), tls: await freePort(), udp: await freePort(), mtls: await freePort() };
  const out = join(dir, 'received.log');
  writeFileSync(join(dir, 'rsyslog.conf'), `
global(workDirectory="${dir}/work"
       DefaultNetstreamDriverCAFile="${certs}/ca.pem"
       DefaultNetstreamDriverCertFile="${certs}/server.pem"
       DefaultNetstreamDriverKeyFile="${certs}/server.key")
module(load="imtcp")
input(type="imtcp" port="${p.tcp}" address="127.0.0.1" name="tcp")
input(type="imtcp" port="${p.tls}" address="127.0.0.1" name="tls" StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" port="${p.mtls}" address="127.0.0.1" name="mtls" StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
module(load="imudp")
input(type="imudp" port="${p.udp}" address="127.0.0.1" name="udp")
template(name="fields" type="string" string="%inputname%|%pri%|%timereported:::date-rfc3339%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n")
*.* action(type="omfile" file="${out}" template="fields" flushOnTXEnd="on" asyncWriting="off")
`);
  const child = spawn('/usr/sbin/rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslog.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 15_000;
  for (const port of [p.tcp, p.tls, p.mtls]) {
    for (;;) {
      const ok = await new Promise<boolean>((r) => {
        const s = connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      });
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`rsyslogd did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    ports: p,
    ca: join(certs, 'ca.pem'),
    // Ours only: rsyslogd logs its own start and stop to the same file.
    lines: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l.split('|')[3] === 'mcp-blackbox') : []),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

async function fleet(n: number): Promise<Store> {
  const store = await openTestStore('2026-11-01T00:00:00Z');
  const records = Array.from({ length: n }, (_, i) =>
    record(`ex_${String(i).padStart(3, '0')}`, {
      started_at: new Date(Date.parse('2026-10-30T10:00:00Z') + i * 60_000).toISOString(),
      ended_at: new Date(Date.parse('2026-10-30T10:00:00Z') + i * 60_000 + 800).toISOString(),
      input: { query: 'find "quoted] text', api_key: 'sk_live_0123456789abcdefghijklmn' },
      ...(i % 4 === 0 ? { status: 'failed', error: { type: 'rate_limited', message: 'slow down', layer: 'tool' } } : {}),
    }),
  );
  await ingestLines(store, blockFromRecords(records), 'test');
  await new AuditLog(store).record({ id: 'u_root', role: 'admin' }, { action: 'unmask', target: 'ex_000', reason: 'INC-2 checking one payload' });
  return store;
}

async function until(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const field = (line: string) => {
  const [input, pri, time, app, procid, msgid, ...rest] = line.split('|');
  // The structured data ends at "]|" (the template's separator); the body may hold "|" (CEF does).
  const joined = rest.join('|');
  const sdEnd = joined.indexOf(']|') + 1;
  return { input, pri: Number(pri), time, app, procid, msgid, sd: joined.slice(0, sdEnd), msg: joined.slice(sdEnd + 1) };
};

describe('syslog to a real rsyslogd (RFC 5424, octet counting)', () => {
  it('over TCP: every event, parsed by rsyslog into its RFC 5424 fields, our structured data and a JSON body', async () => {
    const rsyslog = await startRsyslog();
    const store = await fleet(12);
    const runner = new SinkRunner(store, 'siem', parseSink('siem', { type: 'syslog', host: '127.0.0.1', port: rsyslog.ports.tcp, batch: 5 }));
    expect(await runner.drain()).toBe(13);
    await runner.stop();
    await until(() => rsyslog.lines().length === 13);
    const lines = rsyslog.lines().map(field);
    expect(lines.every((l) => l.input === 'tcp' && l.app === 'mcp-blackbox' && l.procid === String(process.pid))).toBe(true);
    const first = lines[0]!;
    // Facility 13 (log audit) x 8 + severity 4 (warning: a failed call).
    expect(first).toMatchObject({ pri: 108, msgid: 'execution', time: '2026-10-30T10:00:00.000Z' });
    expect(first.sd).toBe('[mcp-blackbox@32473 kind="execution" uid="ex_000" actor="u_ana" operation="tools/call" outcome="failure" tool="jira_create_issue"]');
    expect(lines[1]!.pri).toBe(110);
    const body = JSON.parse(first.msg);
    expect(body).toMatchObject({ class_uid: 6003, metadata: { uid: 'ex_000' }, event: { outcome: 'failure' } });
    expect(first.msg).not.toContain('sk_live_');
    // In order, the audit event after the executions of its batch.
    expect(lines.map((l) => JSON.parse(l.msg).metadata.uid)).toEqual([
      'ex_000', 'ex_001', 'ex_002', 'ex_003', 'ex_004', 'audit-1', 'ex_005', 'ex_006', 'ex_007', 'ex_008', 'ex_009', 'ex_010', 'ex_011',
    ]);
    expect(lines[5]).toMatchObject({ msgid: 'audit', sd: expect.stringContaining('seq="1"') });
  });

  it('over TLS with the test CA and hostname verification, and CEF bodies; a wrong server name delivers nothing and says why', async () => {
    const rsyslog = await startRsyslog();
    const store = await fleet(4);
    const tls = { type: 'syslog', transport: 'tls', host: '127.0.0.1', port: rsyslog.ports.tls, ca_file: rsyslog.ca, server_name: 'localhost', body: 'cef', streams: ['executions'] };
    const runner = new SinkRunner(store, 'siem-tls', parseSink('siem-tls', tls));
    expect(await runner.drain()).toBe(4);
    await runner.stop();
    await until(() => rsyslog.lines().length === 4);
    const lines = rsyslog.lines().map(field);
    expect(lines.every((l) => l.input === 'tls')).toBe(true);
    expect(lines[0]!.msg).toMatch(new RegExp(String.raw`^CEF:0\|mcp-blackbox\|mcp-blackbox\|[\d.]+\|tools\/call\|u_ana called jira_create_issue on eng-gateway: failed \(rate_limited\)\|6\|rt=${Date.parse('2026-10-30T10:00:00Z')} suser=u_ana act=tools\/call outcome=failure externalId=ex_000 `));

    const sinks = new Map([['wrong-name', parseSink('wrong-name', { ...tls, server_name: 'siem.example.com' })]]);
    const exporter = new Exporter(store, sinks, { backoffMs: 50, maxBackoffMs: 100, pollMs: 50 });
    await exporter.start(new AuditLog(store));
    await until(async () => (await exportStatus(store, sinks))[0]!.last_error !== null);
    await exporter.stop();
    expect((await exportStatus(store, sinks))[0]).toMatchObject({ sent: 0, lag_events: 4, last_error: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID|does not match|altnames/i) });
    expect(rsyslog.lines()).toHaveLength(4);
  });

  it('mutual TLS: an input that requires a client certificate takes ours, and refuses a client without one', async () => {
    const rsyslog = await startRsyslog();
    const store = await fleet(3);
    const mtls = { type: 'syslog', transport: 'tls', host: '127.0.0.1', port: rsyslog.ports.mtls, ca_file: rsyslog.ca, server_name: 'localhost', streams: ['executions'] };
    const withCert = new SinkRunner(store, 'mtls', parseSink('mtls', { ...mtls, cert_file: join(certs, 'client.pem'), key_file: join(certs, 'client.key') }));
    expect(await withCert.drain()).toBe(3);
    await withCert.stop();
    await until(() => rsyslog.lines().length === 3);
    expect(rsyslog.lines().map((l) => field(l).input)).toEqual(['mtls', 'mtls', 'mtls']);

    const sinks = new Map([['no-cert', parseSink('no-cert', mtls)]]);
    const exporter = new Exporter(store, sinks, { backoffMs: 50, maxBackoffMs: 100, pollMs: 50 });
    await exporter.start(new AuditLog(store));
    await until(async () => (await exportStatus(store, sinks))[0]!.last_error !== null);
    await exporter.stop();
    expect((await exportStatus(store, sinks))[0]).toMatchObject({ sent: 0, lag_events: 3, last_error: expect.stringMatching(/HANDSHAKE_FAILURE|CERTIFICATE/i) });
    expect(rsyslog.lines()).toHaveLength(3);
  });

  it('over UDP, for the lab', async () => {
    const rsyslog = await startRsyslog();
    const store = await fleet(3);
    const runner = new SinkRunner(store, 'lab', parseSink('lab', { type: 'syslog', transport: 'udp', host: '127.0.0.1', port: rsyslog.ports.udp, streams: ['executions'] }));
    expect(await runner.drain()).toBe(3);
    await runner.stop();
    await until(() => rsyslog.lines().length === 3);
    expect(rsyslog.lines().map((l) => field(l).input)).toEqual(['udp', 'udp', 'udp']);
  });

  it('rsyslog down, then up: nothing lost, nothing twice, in order', async () => {
    const ports = { tcp: await freePort(), tls: await freePort(), udp: await freePort(), mtls: await freePort() };
    const store = await fleet(30);
    const sinks = new Map([['siem', parseSink('siem', { type: 'syslog', host: '127.0.0.1', port: ports.tcp, batch: 7 })]]);
    const exporter = new Exporter(store, sinks, { backoffMs: 50, maxBackoffMs: 200, pollMs: 50 });
    await exporter.start(new AuditLog(store));
    try {
      await until(async () => (await exportStatus(store, sinks))[0]!.last_error !== null);
      expect((await exportStatus(store, sinks))[0]).toMatchObject({ lag_events: 31, last_error: 'could not connect (ECONNREFUSED)' });
      const rsyslog = await startRsyslog(ports);
      await until(async () => (await exportStatus(store, sinks))[0]!.lag_events === 0);
      await until(() => rsyslog.lines().length >= 31);
      const uids = rsyslog.lines().map((l) => JSON.parse(field(l).msg).metadata.uid);
      expect(uids).toHaveLength(31);
      expect(new Set(uids).size).toBe(31);
      expect(uids.filter((u: string) => u.startsWith('ex_'))).toEqual(Array.from({ length: 30 }, (_, i) => `ex_${String(i).padStart(3, '0')}`));
    } finally {
      await exporter.stop();
    }
  });
});
