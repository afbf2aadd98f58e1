import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { allAuditEvents, appendAuditEvent, lastAuditEvent, type AuditRow } from '../store/audit-events.js';
import type { Store } from '../store/store.js';
import type { Caller } from './caller.js';

export const AUDIT_ACTIONS = ['unmask', 'unmask_denied', 'view_execution', 'audit_read', 'export'] as const;
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
 * The tamper-evident audit log. Each event is chained to the previous one by hash, written in its
 * own transaction through the store's single write path, and mirrored to a JSONL file before the
 * transaction commits: if either write fails, the event is not recorded and the caller's action
 * must not proceed (unmask fails closed).
 */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly options: AuditOptions = {},
  ) {}

  /** Records an event; resolves only once it is committed. */
  async record(caller: Caller, event: AuditEventInput): Promise<AuditRow> {
    return this.store.write(async (db) => {
      const last = await lastAuditEvent(db);
      const base = {
        seq: (last?.seq ?? 0) + 1,
        at: this.store.clock.now().toISOString(),
        actor: caller.id,
        role: caller.role,
        action: event.action,
        target: event.target ?? null,
        reason: event.reason ?? null,
        details: event.details ? canonicalJson(event.details) : null,
      };
      const prevHash = last?.hash ?? GENESIS_HASH;
      const row: AuditRow = { ...base, prev_hash: prevHash, hash: chainHash(prevHash, base, this.options.key) };
      await appendAuditEvent(db, row);
      if (this.options.mirrorPath) appendFileSync(this.options.mirrorPath, `${JSON.stringify(row)}\n`);
      return row;
    });
  }

  /** The recorder tools use, bound to one caller. */
  as(caller: Caller): { record(event: AuditEventInput): Promise<AuditRow> } {
    return { record: (event) => this.record(caller, event) };
  }

  async verify(): Promise<ChainVerification> {
    const rows = await this.store.read((db) => allAuditEvents(db));
    const mirror = this.options.mirrorPath && existsSync(this.options.mirrorPath) ? readMirror(this.options.mirrorPath) : undefined;
    return verifyChain(rows, { key: this.options.key, mirror, mirrorPath: this.options.mirrorPath });
  }
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

function readMirror(path: string): AuditRow[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditRow);
}

/**
 * Recomputes the chain and names the first broken sequence number: an edited event (its hash no
 * longer matches), a deleted or reordered one (a gap in seq, or a prev_hash that does not link),
 * a truncated tail (the mirror goes on past the database's last event), or an unkeyed event where
 * the key says every event must be an HMAC (a downgrade).
 */
export function verifyChain(
  rows: AuditRow[],
  options: { key?: string; mirror?: AuditRow[]; mirrorPath?: string },
): ChainVerification {
  const result = (first: number | null, problem: string | null, mirrorMatches: boolean | null): ChainVerification => ({
    ok: first === null,
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
  return result(null, null, null);
}
