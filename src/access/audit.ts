import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { allAuditEvents, appendAuditEvents, auditTableExists, lastAuditEvent, queryAuditEvents, type AuditQuery, type AuditQueryResult, type AuditRow } from '../store/audit-events.js';
import type { Store } from '../store/store.js';
import { systemClock, type Clock } from '../clock.js';
import type { Caller } from './caller.js';

export const AUDIT_ACTIONS = [
  'unmask', 'unmask_denied', 'view_execution', 'audit_read', 'export',
  'alert_rule_create', 'alert_rule_update', 'alert_rule_delete', 'alert_silence',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEventInput {
  action: AuditAction;
  target?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/** The chain starts from this "previous hash". */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditOptions {
  /** MCP_BLACKBOX_AUDIT_KEY: with it the chain is an HMAC, so write access to the database is not enough to forge it. */
  key?: string;
  /** Append-only JSONL copy of every event (beside the database); also the anchor that reveals truncation. */
  mirrorPath?: string;
  /** When events happen: the wall clock, whatever "now" the data is read at (--now pins only that). */
  clock?: Clock;
}

/** JSON with object keys sorted at every level: the same event always encodes to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** `sha256:<hex>` over the previous hash and the event, or `hmac-sha256:<hex>` with the key. */
export function chainHash(prevHash: string, row: Omit<AuditRow, 'hash' | 'prev_hash'>, key?: string): string {
  const payload = `${prevHash}\n${canonicalJson({
    seq: row.seq, at: row.at, actor: row.actor, role: row.role, action: row.action,
    target: row.target, reason: row.reason, details: row.details,
  })}`;
  return key
    ? `hmac-sha256:${createHmac('sha256', key).update(payload).digest('hex')}`
    : `sha256:${createHash('sha256').update(payload).digest('hex')}`;
}

/**
 * Where the chain is kept. The DuckDB store holds one chain, appended under its write queue; a
 * ClickHouse store shared by several instances holds one chain per instance (store/clickhouse/audit.ts).
 */
export interface AuditStorage {
  /**
   * Appends the rows `build` makes from the chain's last event, with nothing appended in between;
   * `stored` runs once they are written and before they count as committed (a throw undoes them
   * where the storage has transactions).
   */
  append(build: (last: AuditRow | undefined) => AuditRow[], stored: (rows: AuditRow[]) => void): Promise<AuditRow[]>;
  /** Every chain's events in order by seq, by chain id; undefined when the table is gone. */
  chains(): Promise<Map<string, AuditRow[]> | undefined>;
  /** The events of a time range and filters, newest first (each with its chain, where there are several), and how many match. */
  query(q: AuditQuery): Promise<AuditQueryResult>;
  /** Runs before the store closes (held-back events are committed). */
  beforeClose(hook: () => Promise<void>): void;
}

/** The DuckDB store's single chain, in the audit_events table. */
export function duckdbAuditStorage(store: Store): AuditStorage {
  return {
    append: (build, stored) =>
      store.write(async (db) => {
        const rows = build(await lastAuditEvent(db));
        await appendAuditEvents(db, rows);
        stored(rows);
        return rows;
      }),
    chains: async () => {
      const rows = await store.read(async (db) => ((await auditTableExists(db)) ? allAuditEvents(db) : undefined));
      return rows && new Map([['', rows]]);
    },
    query: (q) => store.read((db) => queryAuditEvents(db, q)),
    beforeClose: (hook) => store.beforeClose(hook),
  };
}

/** How long a view event may wait to share its commit with others. */
const VIEW_BATCH_MS = 250;

interface Pending {
  caller: Caller;
  event: AuditEventInput;
  resolve: (row: AuditRow) => void;
  reject: (error: unknown) => void;
}

/**
 * The tamper-evident audit log. Each event is chained to the previous one by hash, written
 * through the store's single write path, and mirrored to a JSONL file before the transaction
 * commits: if either write fails, the event is not recorded and the caller's action must not
 * proceed (unmask fails closed).
 *
 * Events are group-committed: at most one audit transaction is queued or running, and every event
 * recorded meanwhile goes into the next one. Views (`note`) also wait up to VIEW_BATCH_MS for
 * company. Read tools write these rows, and one transaction per view filled the store's write
 * queue, which ingest shares, under tool traffic.
 */
export class AuditLog {
  private readonly pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  private readonly storage: AuditStorage;

  constructor(
    store: Store | AuditStorage,
    private readonly options: AuditOptions = {},
  ) {
    this.storage = 'append' in store ? store : duckdbAuditStorage(store);
    this.storage.beforeClose(() => this.flush());
  }

  /** Records an event; resolves only once it is committed. */
  record(caller: Caller, event: AuditEventInput): Promise<AuditRow> {
    const row = this.enqueue(caller, event);
    this.schedule(0);
    return row;
  }

  /**
   * Records an event that nothing waits for (a view of masked data): it is committed with the
   * next batch, at most VIEW_BATCH_MS later, and a failure is reported to `onError`.
   */
  note(caller: Caller, event: AuditEventInput, onError: (error: unknown) => void): void {
    this.enqueue(caller, event).catch(onError);
    this.schedule(VIEW_BATCH_MS);
  }

  /** Commits every event recorded so far. */
  async flush(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      if (this.flushing) await this.flushing;
      else this.startFlush();
    }
  }

  /** The recorder tools use, bound to one caller. */
  as(caller: Caller): { record(event: AuditEventInput): Promise<AuditRow>; note(event: AuditEventInput, onError: (error: unknown) => void): void } {
    return { record: (event) => this.record(caller, event), note: (event, onError) => this.note(caller, event, onError) };
  }

  private enqueue(caller: Caller, event: AuditEventInput): Promise<AuditRow> {
    return new Promise<AuditRow>((resolve, reject) => this.pending.push({ caller, event, resolve, reject }));
  }

  private schedule(delayMs: number): void {
    if (delayMs === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.flushing) this.startFlush();
      return; // a running flush starts the next one when it ends
    }
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.flushing) this.startFlush();
    }, delayMs);
    this.timer.unref();
  }

  private startFlush(): void {
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    this.flushing = this.commit(batch)
      .then(
        (rows) => batch.forEach((p, i) => p.resolve(rows[i]!)),
        (error: unknown) => batch.forEach((p) => p.reject(error)),
      )
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) this.schedule(0);
      });
  }

  private commit(batch: Pending[]): Promise<AuditRow[]> {
    return this.storage.append((last) => {
      let seq = last?.seq ?? 0;
      let prevHash = last?.hash ?? GENESIS_HASH;
      const at = (this.options.clock ?? systemClock).now().toISOString();
      const rows = batch.map(({ caller, event }) => {
        // The hash must be of what the database stores, and the database stores text as UTF-8: a
        // lone surrogate (a crafted reason or JWT subject) would be stored as U+FFFD and the chain
        // would no longer verify. Every string is made well-formed before it is hashed.
        const base = {
          seq: ++seq,
          at,
          actor: caller.id.toWellFormed(),
          role: caller.role,
          action: event.action,
          target: event.target?.toWellFormed() ?? null,
          reason: event.reason?.toWellFormed() ?? null,
          details: event.details ? canonicalJson(event.details).toWellFormed() : null,
        };
        const row: AuditRow = { ...base, prev_hash: prevHash, hash: chainHash(prevHash, base, this.options.key) };
        prevHash = row.hash;
        return row;
      });
      return rows;
    }, (rows) => {
      // In the store's transaction, after the rows: if the mirror cannot be written, the events are not recorded.
      if (this.options.mirrorPath) appendFileSync(this.options.mirrorPath, rows.map((row) => `${JSON.stringify(row)}\n`).join(''), { mode: 0o600 });
    });
  }

  /**
   * Verifies the chain in the database and, unless `withoutMirror`, against the mirror file: a
   * missing mirror is a failure once there are events, since without it a truncated tail cannot
   * be told from a shorter log.
   */
  async verify(options: { withoutMirror?: boolean } = {}): Promise<ChainVerification> {
    return this.verifyOne(await this.storage.chains(), options);
  }

  private verifyOne(chains: Map<string, AuditRow[]> | undefined, options: { withoutMirror?: boolean }): ChainVerification {
    const rows = chains && (chains.get('') ?? []);
    const mirrorPath = options.withoutMirror ? undefined : this.options.mirrorPath;
    if (!rows) {
      return { ...emptyVerification(this.options.key, mirrorPath), ok: false, problem: 'the audit_events table is missing from the database: the audit log was dropped' };
    }
    let mirror: AuditRow[] | undefined;
    if (mirrorPath && existsSync(mirrorPath)) {
      const read = readMirror(mirrorPath);
      if ('problem' in read) return { ...emptyVerification(this.options.key, mirrorPath), events: rows.length, ok: false, first_broken_seq: read.line, problem: read.problem };
      mirror = read.rows;
    }
    return verifyChain(rows, { key: this.options.key, mirror, mirrorPath, requireMirror: Boolean(mirrorPath) });
  }

  /** The events of a time range and filters, newest first. */
  query(q: AuditQuery): Promise<AuditQueryResult> {
    return this.storage.query(q);
  }

  /**
   * Every chain verified (a store that keeps one per instance has several), as one verdict: OK
   * when each is; else the first broken chain's event and problem, the chain named.
   */
  async verifyAll(): Promise<ChainVerification & { chains: number }> {
    const chains = await this.storage.chains();
    if (!chains || chains.has('')) return { ...this.verifyOne(chains, {}), chains: 1 };
    const results = verifyChainRows(chains, { key: this.options.key });
    const broken = results.find((r) => !r.ok);
    return {
      ...emptyVerification(this.options.key, undefined),
      ok: !broken,
      events: results.reduce((n, r) => n + r.events, 0),
      first_broken_seq: broken?.first_broken_seq ?? null,
      problem: broken ? `chain ${broken.chain}: ${broken.problem}` : null,
      chains: results.length,
    };
  }
}

/**
 * Every chain of a store that keeps one per instance: each is checked on its own (this instance's
 * against its mirror file too, when it has one).
 */
export async function verifyChains(storage: AuditStorage, options: ChainsOptions = {}): Promise<Array<ChainVerification & { chain: string }>> {
  return verifyChainRows(await storage.chains(), options);
}

type ChainsOptions = { key?: string; ownChain?: string; mirrorPath?: string };

/** The chains already read, checked as verifyChains checks them. */
function verifyChainRows(chains: Map<string, AuditRow[]> | undefined, options: ChainsOptions): Array<ChainVerification & { chain: string }> {
  if (!chains) return [{ chain: '', ...emptyVerification(options.key, undefined), ok: false, problem: 'the audit_events table is missing: the audit log was dropped' }];
  return [...chains].map(([chain, rows]) => {
    const mirrorPath = chain === options.ownChain ? options.mirrorPath : undefined;
    const mirror = mirrorPath && existsSync(mirrorPath) ? readMirror(mirrorPath) : undefined;
    if (mirror && 'problem' in mirror) return { chain, ...emptyVerification(options.key, mirrorPath), events: rows.length, ok: false, first_broken_seq: mirror.line, problem: mirror.problem };
    return { chain, ...verifyChain(rows, { key: options.key, mirror: mirror?.rows, mirrorPath, requireMirror: Boolean(mirrorPath) }) };
  });
}

function emptyVerification(key: string | undefined, mirrorPath: string | undefined): ChainVerification {
  return { ok: true, events: 0, head_seq: null, keyed: Boolean(key), first_broken_seq: null, problem: null, mirror: { path: mirrorPath ?? null, events: null, matches: null } };
}

export interface ChainVerification {
  ok: boolean;
  events: number;
  head_seq: number | null;
  /** Whether the chain was checked as an HMAC with the audit key. */
  keyed: boolean;
  first_broken_seq: number | null;
  problem: string | null;
  mirror: { path: string | null; events: number | null; matches: boolean | null };
}

function readMirror(path: string): { rows: AuditRow[] } | { line: number; problem: string } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '');
  const rows: AuditRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    try {
      rows.push(JSON.parse(lines[i]!) as AuditRow);
    } catch {
      return { line: i + 1, problem: `line ${i + 1} of the mirror file ${path} is not valid JSON: the mirror was edited` };
    }
  }
  return { rows };
}

/**
 * Recomputes the chain and names the first broken sequence number: an edited event (its hash no
 * longer matches), a deleted or reordered one (a gap in seq, or a prev_hash that does not link),
 * a truncated tail (the mirror goes on past the database's last event), or an unkeyed event where
 * the key says every event must be an HMAC (a downgrade).
 */
export function verifyChain(
  rows: AuditRow[],
  options: { key?: string; mirror?: AuditRow[]; mirrorPath?: string; requireMirror?: boolean },
): ChainVerification {
  const result = (first: number | null, problem: string | null, mirrorMatches: boolean | null): ChainVerification => ({
    ok: problem === null,
    events: rows.length,
    head_seq: rows.length ? rows[rows.length - 1]!.seq : null,
    keyed: Boolean(options.key),
    first_broken_seq: first,
    problem,
    mirror: { path: options.mirrorPath ?? null, events: options.mirror?.length ?? null, matches: mirrorMatches },
  });
  let prev = GENESIS_HASH;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const expectedSeq = i + 1;
    if (row.seq !== expectedSeq) {
      return result(expectedSeq, `event ${expectedSeq} is missing or out of order (found seq ${row.seq} in its place)`, null);
    }
    if (row.prev_hash !== prev) {
      return result(row.seq, `event ${row.seq} does not link to the event before it (an event was removed, inserted or reordered)`, null);
    }
    if (options.key && !row.hash.startsWith('hmac-sha256:')) {
      return result(row.seq, `event ${row.seq} is not signed with the audit key (MCP_BLACKBOX_AUDIT_KEY is set, so every event must be an HMAC)`, null);
    }
    if (!options.key && row.hash.startsWith('hmac-sha256:')) {
      return result(row.seq, `event ${row.seq} is an HMAC: set MCP_BLACKBOX_AUDIT_KEY to verify this chain`, null);
    }
    const { hash: _h, prev_hash: _p, ...base } = row;
    if (chainHash(prev, base, options.key) !== row.hash) {
      return result(row.seq, `event ${row.seq} was modified after it was written (its hash does not match its content)`, null);
    }
    prev = row.hash;
  }
  if (options.mirror) {
    const mirror = options.mirror;
    // The mirror is a chain of its own: each line's hash is recomputed from its content, so a line
    // edited with its hash kept is caught even where the database agrees with the hash.
    let mirrorPrev = GENESIS_HASH;
    for (let i = 0; i < mirror.length; i++) {
      const line = mirror[i]!;
      const { hash: _h, prev_hash: _p, ...base } = line;
      if (line.prev_hash !== mirrorPrev || chainHash(mirrorPrev, base, options.key) !== line.hash) {
        return result(line.seq ?? i + 1, `line ${i + 1} of the mirror file (event ${line.seq}) was modified: its hash does not match its content or does not link to the line before`, false);
      }
      mirrorPrev = line.hash;
    }
    for (let i = 0; i < Math.min(mirror.length, rows.length); i++) {
      if (mirror[i]!.hash !== rows[i]!.hash || mirror[i]!.seq !== rows[i]!.seq) {
        return result(rows[i]!.seq, `event ${rows[i]!.seq} differs from its copy in the mirror file`, false);
      }
    }
    if (mirror.length > rows.length) {
      return result(rows.length + 1, `the database ends at event ${rows.length} but the mirror file goes on to ${mirror[mirror.length - 1]!.seq}: events were deleted from the end`, false);
    }
    if (mirror.length < rows.length) {
      return result(mirror.length + 1, `the mirror file ends at event ${mirror.length} but the database goes on to ${rows.length}: the mirror was truncated or events were added behind its back`, false);
    }
    return result(null, null, true);
  }
  if (options.requireMirror && rows.length > 0) {
    return result(
      null,
      `the mirror file ${options.mirrorPath} is missing, so a truncated tail cannot be detected (the database chain itself verifies, ${rows.length} events). ` +
        'Restore the mirror from where you keep it, or run audit verify --without-mirror to check the database chain alone.',
      false,
    );
  }
  return result(null, null, null);
}

export interface ExportedChainVerification {
  ok: boolean;
  events: number;
  first_seq: number | null;
  last_seq: number | null;
  /** Copies of an event sent twice (at-least-once delivery): identical, so counted once. */
  duplicates: number;
  /** Events whose content the export's redactor changed: their links are checked, their content cannot be. */
  redacted: number;
  first_broken_seq: number | null;
  problem: string | null;
}

/**
 * Verifies the audit events of an export stream (what a SIEM received): consecutive sequence
 * numbers from the first one received, each linking to the one before, each hash matching its
 * content. Exact duplicates (a batch sent again) are expected; two different events with one
 * sequence number are not.
 */
export function verifyExportedChain(rows: AuditRow[], key?: string): ExportedChainVerification {
  const bySeq = new Map<number, AuditRow>();
  let duplicates = 0;
  const base = { events: 0, first_seq: null as number | null, last_seq: null as number | null, duplicates: 0, redacted: 0 };
  for (const row of rows) {
    const seen = bySeq.get(row.seq);
    if (seen) {
      if (JSON.stringify(seen) !== JSON.stringify(row)) return { ok: false, ...base, first_broken_seq: row.seq, problem: `two different events carry seq ${row.seq}` };
      duplicates++;
      continue;
    }
    bySeq.set(row.seq, row);
  }
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const summary = { events: ordered.length, first_seq: ordered[0]?.seq ?? null, last_seq: ordered.at(-1)?.seq ?? null, duplicates, redacted: 0 };
  let prev: string | undefined = ordered[0]?.seq === 1 ? GENESIS_HASH : undefined;
  for (let i = 0; i < ordered.length; i++) {
    const row = ordered[i]!;
    if (i > 0 && row.seq !== ordered[i - 1]!.seq + 1) {
      return { ok: false, ...summary, first_broken_seq: ordered[i - 1]!.seq + 1, problem: `event ${ordered[i - 1]!.seq + 1} is missing from the export (the next one received is ${row.seq})` };
    }
    // The first event received links to one before the export began: that link cannot be checked.
    if (prev !== undefined && row.prev_hash !== prev) {
      return { ok: false, ...summary, first_broken_seq: row.seq, problem: `event ${row.seq} does not link to the event before it` };
    }
    const { hash: _h, prev_hash: _p, ...content } = row;
    if (chainHash(row.prev_hash, content, key) !== row.hash) {
      if (JSON.stringify(content).includes('[REDACTED:')) summary.redacted++;
      else return { ok: false, ...summary, first_broken_seq: row.seq, problem: `event ${row.seq} does not match its hash: it was changed${key ? '' : ' (or the chain is an HMAC: set MCP_BLACKBOX_AUDIT_KEY)'}` };
    }
    prev = row.hash;
  }
  return { ok: true, ...summary, first_broken_seq: null, problem: null };
}
