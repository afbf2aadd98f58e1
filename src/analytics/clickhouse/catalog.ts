import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { CatalogQueries } from '../catalog.js';
import { byteOrder } from '../order.js';
import { ChQuery, isoFromMicros } from './sql.js';
import { usageSource } from './usage-rows.js';

export function clickhouseCatalogQueries(ch: ClickHouseDb): CatalogQueries {
  return {
    async dimension(range, column, limit) {
      const q = new ChQuery(ch);
      const source = await usageSource(q, [{ range }], {}, 'day');
      const rows = await q.all<{ value: string; n_exec: number; last_us: number; n_distinct: number }>(
        `SELECT assumeNotNull(${column}) AS value, sum(n) AS n_exec, toUnixTimestamp64Micro(max(last_at)) AS last_us, count() OVER () AS n_distinct
         FROM ${source} WHERE ${column} IS NOT NULL
         GROUP BY value ORDER BY n_exec DESC, value LIMIT ${q.value(limit, 'UInt32')}`,
      );
      return { values: rows.map((r) => ({ value: r.value, executions: r.n_exec, last_seen: isoFromMicros(r.last_us)! })), distinct: rows[0]?.n_distinct ?? 0 };
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
    async toolLists(limit) {
      const [lists, definitions] = await Promise.all([
        ch.all<{ server: string; hash: string; n: number; seen_us: number }>(
          `SELECT server, tools_sha256 AS hash, tool_count AS n, toUnixTimestamp64Micro(seen_at) AS seen_us FROM ${ch.t('tool_list_sightings')} ORDER BY server, seen_at`,
        ),
        ch.all<{ server: string; name: string; same: string; seen_us: number }>(
          `SELECT server, name, toJSONString((description, input_schema_sha256)) AS same, toUnixTimestamp64Micro(seen_at) AS seen_us
           FROM ${ch.t('tool_definition_sightings')} ORDER BY server, name, seen_at`,
        ),
      ]);
      const listVersions = versionsOf(lists, (r) => r.server, (r) => r.hash);
      const definitionVersions = versionsOf(definitions, (r) => `${r.server}\u0000${r.name}`, (r) => r.same);
      const changed = new Map<string, Array<{ name: string; changed_at: string; at: number }>>();
      for (const [key, versions] of definitionVersions) {
        if (versions.length < 2) continue;
        const [server, name] = key.split('\u0000') as [string, string];
        const at = Math.max(...versions.map((v) => v.first));
        changed.set(server, [...(changed.get(server) ?? []), { name, changed_at: isoFromMicros(at)!, at }]);
      }
      return [...listVersions]
        .map(([server, versions]) => {
          const latest = versions.reduce((a, b) => (b.first > a.first ? b : a));
          const tools = (changed.get(server) ?? []).sort((a, b) => b.at - a.at || byteOrder(a.name, b.name));
          return {
            server,
            versions: versions.length,
            tools: latest.row.n,
            listed_since: isoFromMicros(latest.first)!,
            last_seen: isoFromMicros(Math.max(...versions.map((v) => v.last)))!,
            changed_tools: tools.map(({ name, changed_at }) => ({ name, changed_at })),
          };
        })
        .sort((a, b) => byteOrder(b.listed_since, a.listed_since) || byteOrder(a.server, b.server))
        .slice(0, Math.max(1, Math.floor(limit)));
    },
  };
}

/**
 * Versions from sightings in time order, per key: a sighting that differs from the latest version
 * starts a new one (first seen then); the same again only moves its last sighting. As DuckDB's
 * store/catalog.ts records them as they arrive.
 */
export function versionsOf<R extends { seen_us: number }>(rows: R[], keyOf: (r: R) => string, same: (r: R) => string): Map<string, Array<{ row: R; first: number; last: number; id: string }>> {
  const out = new Map<string, Array<{ row: R; first: number; last: number; id: string }>>();
  for (const row of rows) {
    const key = keyOf(row);
    const versions = out.get(key) ?? [];
    const current = versions.at(-1);
    if (current && current.id === same(row)) current.last = Math.max(current.last, row.seen_us);
    else versions.push({ row, first: row.seen_us, last: row.seen_us, id: same(row) });
    out.set(key, versions);
  }
  return out;
}
