import type { Params, Reader } from '../../store/store.js';
import { sqlTime } from '../time-range.js';
import type { CatalogTool, UnusedQueries } from '../unused.js';
import { flaggedUsageRows } from './usage-rows.js';

/** The catalog is the `tools` table (every tool ever seen, and those listed); runs from hourly_usage. */
export function duckdbUnusedQueries(read: Reader): UnusedQueries {
  return {
    tools(range, previous, only) {
      const params: Params = { to: sqlTime(range.to) };
      const conditions = ['(t.first_seen IS NULL OR t.first_seen < CAST($to AS TIMESTAMP))'];
      if (only.server !== undefined) {
        params.server = only.server;
        conditions.push('t.server = $server');
      }
      if (only.kind !== undefined) {
        params.kind = only.kind;
        conditions.push('t.kind = $kind');
      }
      const both = flaggedUsageRows('is_current', [{ range, flag: true }, { range: previous, flag: false }], {}, params, 'w_');
      return read((db) =>
        db.all<CatalogTool>(
          `WITH runs AS (
             SELECT tool_name, coalesce(tool_server, '') AS server,
                    coalesce(sum(executions) FILTER (is_current), 0)::INTEGER AS in_window,
                    coalesce(sum(executions) FILTER (NOT is_current), 0)::INTEGER AS in_previous
             FROM ${both} AS u
             GROUP BY 1, 2
           )
           SELECT t.name, t.server, t.kind, epoch_us(t.last_seen)::DOUBLE AS last_seen_us, iso(t.last_seen) AS last_seen,
                  date_diff('hour', t.last_seen, CAST($to AS TIMESTAMP))::INTEGER AS hours_since_last_use,
                  coalesce(r.in_window, 0) AS in_window, coalesce(r.in_previous, 0) AS in_previous, t.from_catalog
           FROM tools t LEFT JOIN runs r ON r.tool_name = t.name AND r.server = t.server
           WHERE ${conditions.join(' AND ')}`,
          params,
        ),
      );
    },
  };
}
