import type { Store } from './store.js';

export interface QuarantinedLine {
  source: string;
  lineNo: number;
  reason: string;
  raw: string;
  receivedAt: string;
}

export async function listQuarantine(
  store: Store,
  options: { limit: number; reasonPrefix?: string },
): Promise<{ total: number; rows: QuarantinedLine[] }> {
  return store.read(async (db) => {
    const params = { prefix: `${options.reasonPrefix ?? ''}%`, limit: options.limit };
    const total = await db.one<{ n: number }>(
      'SELECT count(*)::DOUBLE AS n FROM quarantine WHERE reason LIKE $prefix',
      { prefix: params.prefix },
    );
    const rows = await db.all<QuarantinedLine>(
      `SELECT source, line_no::DOUBLE AS "lineNo", reason, raw, strftime(received_at, '%Y-%m-%dT%H:%M:%SZ') AS "receivedAt"
       FROM quarantine WHERE reason LIKE $prefix ORDER BY received_at DESC, source, line_no LIMIT $limit`,
      params,
    );
    return { total: total?.n ?? 0, rows };
  });
}
