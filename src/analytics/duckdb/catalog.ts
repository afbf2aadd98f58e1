import type { Db, Reader } from '../../store/store.js';
import type { CatalogQueries, DimensionValue, ServerToolList } from '../catalog.js';
import { sqlTime } from '../time-range.js';

export function duckdbCatalogQueries(read: Reader): CatalogQueries {
  return {
    async dimension(range, column, limit) {
      const rows = await read((db) =>
        db.all<DimensionValue & { distinct: number }>(
          `SELECT ${column} AS value, count(*)::INTEGER AS executions, iso(max(started_at)) AS last_seen,
                  (count(*) OVER ())::INTEGER AS distinct
           FROM executions
           WHERE started_at >= CAST($from AS TIMESTAMP) AND started_at < CAST($to AS TIMESTAMP) AND ${column} IS NOT NULL
           GROUP BY 1 ORDER BY executions DESC, value LIMIT $limit`,
          { from: sqlTime(range.from), to: sqlTime(range.to), limit },
        ),
      );
      return { values: rows.map(({ distinct: _d, ...v }) => v), distinct: rows[0]?.distinct ?? 0 };
    },
    async valueExists(column, value) {
      const row = await read((db) => db.one<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM (SELECT 1 FROM executions WHERE ${column} = $value LIMIT 1)`, { value }));
      return (row?.n ?? 0) > 0;
    },
    async closestValues(column, value) {
      const rows = await read((db) =>
        db.all<{ value: string }>(
          `SELECT value FROM (SELECT DISTINCT ${column} AS value FROM executions WHERE ${column} IS NOT NULL)
           ORDER BY jaro_winkler_similarity(lower(value), lower($value)) DESC, value LIMIT 3`,
          { value },
        ),
      );
      return rows.map((r) => r.value);
    },
    toolLists: (limit) => read((db) => serverToolLists(db, limit)),
  };
}

/** The tool lists `wrap` recorded (tool_catalog records), one row per server, latest change first. */
async function serverToolLists(db: Db, limit = 50): Promise<ServerToolList[]> {
  const rows = await db.all<Omit<ServerToolList, 'changed_tools'> & { changed_tools: string }>(
    `WITH lists AS (
       SELECT server, count(*)::INTEGER AS versions, arg_max(tool_count, first_seen) AS tools,
              iso(max(first_seen)) AS listed_since, iso(max(last_seen)) AS last_seen
       FROM server_tool_lists GROUP BY server
     ),
     changes AS (
       SELECT server, to_json(list({'name': name, 'changed_at': iso(changed_at)} ORDER BY changed_at DESC, name)) AS changed_tools
       FROM (SELECT server, name, max(first_seen) AS changed_at FROM tool_definitions GROUP BY ALL HAVING count(*) > 1)
       GROUP BY server
     )
     SELECT l.*, coalesce(c.changed_tools, '[]') AS changed_tools
     FROM lists l LEFT JOIN changes c USING (server)
     ORDER BY l.listed_since DESC, l.server LIMIT ${Math.max(1, Math.floor(limit))}`,
  );
  return rows.map((r) => ({ ...r, changed_tools: JSON.parse(String(r.changed_tools)) }));
}
