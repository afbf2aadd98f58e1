import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { CatalogQueries } from '../catalog.js';
import { ChQuery, isoFromMicros } from './sql.js';

export function clickhouseCatalogQueries(ch: ClickHouseDb): CatalogQueries {
  return {
    async dimension(range, column, limit) {
      const q = new ChQuery(ch);
      const rows = await q.all<{ value: string; n: number; last_us: number; n_distinct: number }>(
        `SELECT assumeNotNull(${column}) AS value, count() AS n, toUnixTimestamp64Micro(max(started_at)) AS last_us, count() OVER () AS n_distinct
         FROM ${q.executions(range, {})} AND ${column} IS NOT NULL
         GROUP BY value ORDER BY n DESC, value LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return { values: rows.map((r) => ({ value: r.value, executions: r.n, last_seen: isoFromMicros(r.last_us)! })), distinct: rows[0]?.n_distinct ?? 0 };
    },
    async valueExists(column, value) {
      const q = new ChQuery(ch);
      const row = await q.one<{ n: number }>(`SELECT count() AS n FROM (SELECT 1 FROM ${ch.t('executions')} FINAL WHERE ${column} = ${q.value(value, 'String')} LIMIT 1)`);
      return (row?.n ?? 0) > 0;
    },
    async closestValues(column, value) {
      const q = new ChQuery(ch);
      const rows = await q.all<{ value: string }>(
        `SELECT value FROM (SELECT DISTINCT assumeNotNull(${column}) AS value FROM ${ch.t('executions')} FINAL WHERE ${column} IS NOT NULL)
         ORDER BY jaroWinklerSimilarity(lower(value), lower(${q.value(value, 'String')})) DESC, value LIMIT 3`,
      );
      return rows.map((r) => r.value);
    },
    // Tool lists (tool_catalog records) are not kept in ClickHouse yet: the write path refuses them (write.ts).
    toolLists: async () => [],
  };
}
