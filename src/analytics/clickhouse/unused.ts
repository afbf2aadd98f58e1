import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import type { CatalogTool, UnusedQueries } from '../unused.js';
import { ALL_TIME, ChQuery, isoFromMicros } from './sql.js';
import { usageSource } from './usage-rows.js';

/** The catalog: the tools executions name (their current versions) and those catalog_tools lists. */
export function clickhouseUnusedQueries(ch: ClickHouseDb): UnusedQueries {
  return {
    async tools(range, previous, only) {
      const q = new ChQuery(ch);
      // All time in four disjoint spans, so that each execution counts once and the two windows
      // are exact at their partial hours.
      const source = await usageSource(
        q,
        [
          { range: { from: ALL_TIME.from, to: previous.from }, flag: 'before' },
          { range: previous, flag: 'prev' },
          { range, flag: 'cur' },
          { range: { from: range.to, to: ALL_TIME.to }, flag: 'after' },
        ],
        {},
        'day',
      );
      const to = q.time(range.to);
      const [seen, listed] = await Promise.all([
        q.all<{ name: string; server: string; seen_kind: string; first_us: number; last_us: number; hours: number; n_cur: number; n_prev: number }>(
          `SELECT tool_name AS name, ifNull(tool_server, '') AS server, argMax(tool_kind, last_at) AS seen_kind,
                  toUnixTimestamp64Micro(min(first_at)) AS first_us, toUnixTimestamp64Micro(max(last_at)) AS last_us,
                  dateDiff('hour', max(last_at), ${to}) AS hours,
                  sumIf(n, flag = 'cur') AS n_cur, sumIf(n, flag = 'prev') AS n_prev
           FROM ${source} GROUP BY name, server`,
        ),
        ch.all<{ name: string; server: string; listed_kind: string }>(
          `SELECT name, server, argMin(kind, listed_at) AS listed_kind FROM ${ch.t('catalog_tools')} GROUP BY name, server`,
        ),
      ]);
      const tools = new Map<string, CatalogTool & { first_us: number | null }>();
      for (const s of seen) {
        tools.set(`${s.name}\u0000${s.server}`, {
          name: s.name, server: s.server, kind: s.seen_kind, first_us: s.first_us, last_seen_us: s.last_us, last_seen: isoFromMicros(s.last_us),
          hours_since_last_use: s.hours, in_window: s.n_cur, in_previous: s.n_prev, from_catalog: false,
        });
      }
      for (const l of listed) {
        const key = `${l.name}\u0000${l.server}`;
        const tool = tools.get(key);
        if (tool) tool.from_catalog = true;
        else {
          tools.set(key, {
            name: l.name, server: l.server, kind: l.listed_kind, first_us: null, last_seen_us: null, last_seen: null,
            hours_since_last_use: null, in_window: 0, in_previous: 0, from_catalog: true,
          });
        }
      }
      const toUs = range.to.getTime() * 1000;
      return [...tools.values()]
        .filter((t) => (t.first_us === null || t.first_us < toUs) && (only.server === undefined || t.server === only.server) && (only.kind === undefined || t.kind === only.kind))
        .map(({ first_us: _f, ...t }) => t);
    },
  };
}
