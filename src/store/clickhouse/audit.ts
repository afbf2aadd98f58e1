import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AuditStorage } from '../../access/audit.js';
import type { AuditQuery, AuditQueryResult, AuditRow } from '../audit-events.js';
import type { ClickHouseDb } from './client.js';

/**
 * The audit log of a ClickHouse store: one hash chain per instance. Instances append at the same
 * time without coordinating, so each keeps its own chain (its own seq and previous hash, held in
 * memory: no other writer appends to it), and `audit verify` checks every chain. A chain starts
 * when its instance starts; its id names the host, the process and the start.
 */
export class ClickHouseAuditStorage implements AuditStorage {
  private last: AuditRow | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly closeHooks: Array<() => Promise<void>> = [];

  constructor(
    private readonly ch: ClickHouseDb,
    readonly chainId = `${hostname()}:${process.pid}:${new Date().toISOString()}:${randomBytes(3).toString('hex')}`,
  ) {}

  append(build: (last: AuditRow | undefined) => AuditRow[], stored: (rows: AuditRow[]) => void): Promise<AuditRow[]> {
    // One append at a time, so each batch links to the one before it. No transaction: the rows
    // count once ClickHouse confirmed them and `stored` returned.
    const next = this.tail.then(async () => {
      const rows = build(this.last);
      await this.ch.insert('audit_events', rows.map((r) => ({ chain_id: this.chainId, ...r })));
      this.last = rows.at(-1) ?? this.last;
      stored(rows);
      return rows;
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  async chains(): Promise<Map<string, AuditRow[]>> {
    const rows = await this.ch.all<AuditRow & { chain_id: string; at_ms: number }>(
      `SELECT chain_id, seq, toUnixTimestamp64Milli(at) AS at_ms, actor, role, action, target, reason, details, prev_hash, hash
       FROM ${this.ch.t('audit_events')} ORDER BY chain_id, seq`,
    );
    const chains = new Map<string, AuditRow[]>();
    for (const { chain_id, at_ms, ...row } of rows) {
      const list = chains.get(chain_id) ?? [];
      list.push({ ...row, at: new Date(at_ms).toISOString() });
      chains.set(chain_id, list);
    }
    return chains;
  }

  async query(q: AuditQuery): Promise<AuditQueryResult> {
    const params: Record<string, unknown> = { from: q.from, to: q.to, limit: q.limit };
    const where = ["at >= {from:DateTime64(3, 'UTC')}", "at < {to:DateTime64(3, 'UTC')}"];
    for (const key of ['actor', 'action', 'target'] as const) {
      if (q[key] === undefined) continue;
      params[key] = q[key];
      where.push(`${key} = {${key}:String}`);
    }
    const [total, rows] = await Promise.all([
      this.ch.one<{ n: number; first_ms: number | null; last_ms: number | null }>(
        `SELECT count() AS n, toUnixTimestamp64Milli(minOrNull(at)) AS first_ms, toUnixTimestamp64Milli(maxOrNull(at)) AS last_ms
         FROM ${this.ch.t('audit_events')} WHERE ${where.join(' AND ')}`,
        params,
      ),
      // Newest first across the instances' chains; within a chain, by seq.
      this.ch.all<AuditRow & { chain_id: string; at_ms: number }>(
        `SELECT chain_id, seq, toUnixTimestamp64Milli(at) AS at_ms, actor, role, action, target, reason, details, prev_hash, hash
         FROM ${this.ch.t('audit_events')} WHERE ${where.join(' AND ')} ORDER BY at DESC, chain_id, seq DESC LIMIT {limit:UInt32}`,
        params,
      ),
    ]);
    const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());
    return {
      total: total?.n ?? 0,
      first: total?.n ? iso(total.first_ms) : null,
      last: total?.n ? iso(total.last_ms) : null,
      rows: rows.map(({ at_ms, ...row }) => ({ ...row, at: new Date(at_ms).toISOString() })),
    };
  }

  beforeClose(hook: () => Promise<void>): void {
    this.closeHooks.push(hook);
  }

  /** Commits what the audit log holds back (call before closing the store). */
  async close(): Promise<void> {
    for (const hook of this.closeHooks) await hook();
  }
}
