import type { Db, Params, Reader } from '../../store/store.js';
import { cursorRows, lagOf, registeredSinks } from '../../store/export.js';
import { FAILED, GROUP_COLUMNS, type AlertSignalQueries, type GroupColumn } from '../alert-signals.js';
import { FILTER_COLUMNS, filterConditions, type Filters } from '../filters.js';
import { sqlTime } from '../time-range.js';
import { usageRows } from './usage-rows.js';

/** The queries behind the alert signals (analytics/alert-signals.ts), on a DuckDB store. */

function groupExpr(dimension: GroupColumn | undefined): string {
  if (!dimension) return "''";
  return `coalesce(CAST(${GROUP_COLUMNS[dimension]} AS VARCHAR), '(none)')`;
}

function timeParams(params: Params, from: number, to: number, prefix = ''): string {
  params[`${prefix}from`] = sqlTime(new Date(from));
  params[`${prefix}to`] = sqlTime(new Date(to));
  return `started_at >= CAST($${prefix}from AS TIMESTAMP) AND started_at < CAST($${prefix}to AS TIMESTAMP)`;
}

function andFilters(filters: Filters, params: Params): string {
  return filterConditions(filters, params).map((c) => ` AND ${c}`).join('');
}

const MINUTE = "epoch_ms(date_trunc('minute', started_at))::DOUBLE";

export function duckdbAlertSignalQueries(read: Reader): AlertSignalQueries {
  const all = <T>(sql: string, params: Params) => read((db: Db) => db.all<T>(sql, params));
  return {
    executionMinutes(a) {
      const params: Params = {};
      let failed = FAILED;
      if (a.errorType) {
        params.error_type = a.errorType;
        failed += ' AND error_type = $error_type';
      }
      if (a.errorLayer) {
        params.error_layer = a.errorLayer;
        failed += ' AND error_layer = $error_layer';
      }
      const durations = a.durations ? `, list(duration_ms) FILTER (duration_ms IS NOT NULL AND status <> 'running') AS d` : '';
      return all(
        `SELECT ${groupExpr(a.groupBy)} AS g, ${MINUTE} AS m,
                count(*) FILTER (status <> 'running')::INTEGER AS n, count(*) FILTER (${failed})::INTEGER AS f${durations}
         FROM executions WHERE ${timeParams(params, a.from, a.to)}${andFilters(a.filters, params)}
         GROUP BY ALL`,
        params,
      );
    },
    volumeMinutes(a) {
      const measure = a.measure === 'tasks' ? 'sum(tasks)::DOUBLE' : a.measure === 'failures' ? `count(*) FILTER (${FAILED})::DOUBLE` : 'count(*)::DOUBLE';
      const params: Params = {};
      const ranges = a.ranges.map((r, k) => `(${timeParams(params, r.from, r.to, `r${k}_`)})`);
      return all(
        `SELECT ${MINUTE} AS m, ${measure} AS v, count(*)::DOUBLE AS n
         FROM executions WHERE (${ranges.join(' OR ')})${andFilters(a.filters, params)}
         GROUP BY ALL`,
        params,
      );
    },
    spent(a) {
      // From the hourly rollup, exact at partial hours (usageRows).
      const params: Params = {};
      return all(
        `SELECT coalesce(CAST(${FILTER_COLUMNS[a.groupBy]} AS VARCHAR), '(none)') AS g, coalesce(sum(${a.measure}), 0)::DOUBLE AS v
         FROM ${usageRows({ from: new Date(a.from), to: new Date(a.to) }, a.filters, params, 'b_')} AS u GROUP BY 1`,
        params,
      );
    },
    spentMinutes(a) {
      const params: Params = {};
      return all(
        `SELECT coalesce(CAST(${FILTER_COLUMNS[a.groupBy]} AS VARCHAR), '(none)') AS g, ${MINUTE} AS m, coalesce(sum(${a.measure}), 0)::DOUBLE AS v
         FROM executions WHERE ${timeParams(params, a.from, a.to)}${andFilters(a.filters, params)}
         GROUP BY ALL ORDER BY m`,
        params,
      );
    },
    lastMinutes(a) {
      const params: Params = {};
      return all(
        `SELECT ${groupExpr(a.groupBy)} AS g, epoch_ms(date_trunc('minute', max(started_at)))::DOUBLE AS m
         FROM executions WHERE ${timeParams(params, a.from, a.to)}${andFilters(a.filters, params)} GROUP BY 1`,
        params,
      );
    },
    minutes(a) {
      const params: Params = {};
      return all(
        `SELECT DISTINCT ${groupExpr(a.groupBy)} AS g, ${MINUTE} AS m
         FROM executions WHERE ${timeParams(params, a.from, a.to)}${andFilters(a.filters, params)}`,
        params,
      );
    },
    catalogTools(a) {
      const params: Params = {};
      const conditions: string[] = [];
      if (a.tool) {
        params.tool = a.tool;
        conditions.push('t.name = $tool');
      }
      if (a.server) {
        params.server = a.server;
        conditions.push("coalesce(t.server, '') = $server");
      }
      return all(
        `SELECT t.name || coalesce(' (' || nullif(t.server, '') || ')', '') AS g, epoch_ms(t.first_seen)::DOUBLE AS first_seen
         FROM tools t ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}`,
        params,
      );
    },
    usedHours(a) {
      return all(
        `SELECT DISTINCT tool_name || coalesce(' (' || nullif(tool_server, '') || ')', '') AS g, epoch_ms(hour)::DOUBLE AS m
         FROM hourly_usage WHERE hour >= CAST($from AS TIMESTAMP) AND hour < CAST($to AS TIMESTAMP)`,
        { from: sqlTime(new Date(a.from)), to: sqlTime(new Date(a.to)) },
      );
    },
    unmaskMinutes(a) {
      return all(
        `SELECT actor AS g, epoch_ms(date_trunc('minute', occurred_at))::DOUBLE AS m, count(*)::INTEGER AS n,
                count(*) FILTER (action = 'unmask_denied')::INTEGER AS denied, list(seq::DOUBLE ORDER BY seq) AS seqs
         FROM audit_events
         WHERE occurred_at >= CAST($from AS TIMESTAMP) AND occurred_at < CAST($to AS TIMESTAMP)
           AND list_contains(string_split($actions, ','), action)
         GROUP BY ALL`,
        { from: sqlTime(new Date(a.from)), to: sqlTime(new Date(a.to)), actions: a.actions.join(',') },
      );
    },
    listChanges(a) {
      const params: Params = { from: sqlTime(new Date(a.from)), to: sqlTime(new Date(a.to)) };
      if (a.server) params.server = a.server;
      return all(
        `WITH changes AS (
           SELECT l.server, l.first_seen, l.tool_count FROM server_tool_lists l
           WHERE l.first_seen >= CAST($from AS TIMESTAMP) AND l.first_seen < CAST($to AS TIMESTAMP)${a.server ? ' AND l.server = $server' : ''}
             AND EXISTS (SELECT 1 FROM server_tool_lists o WHERE o.server = l.server AND o.first_seen < l.first_seen)
         )
         SELECT c.server AS g, epoch_ms(date_trunc('minute', c.first_seen))::DOUBLE AS m, count(DISTINCT c.first_seen)::INTEGER AS n,
                coalesce(list(DISTINCT d.name ORDER BY d.name) FILTER (d.name IS NOT NULL), []) AS tools
         FROM changes c LEFT JOIN tool_definitions d ON d.server = c.server AND d.first_seen = c.first_seen
         GROUP BY ALL`,
        params,
      );
    },
    exportLags: () =>
      read(async (db) => {
        const out = [];
        for (const { sink, streams } of await registeredSinks(db)) out.push({ sink, ...(await lagOf(db, await cursorRows(db, sink), streams)) });
        return out;
      }),
    series(a) {
      const from = a.to - a.bucketMs * a.buckets;
      const params: Params = { bucket_ms: a.bucketMs, origin: from };
      return all(
        `SELECT floor((epoch_ms(started_at) - $origin) / $bucket_ms)::INTEGER AS i, count(*)::INTEGER AS executions,
                count(*) FILTER (${FAILED})::INTEGER AS failed, quantile_cont(duration_ms, 0.95)::DOUBLE AS p95_ms
         FROM executions WHERE ${timeParams(params, from, a.to)}${andFilters(a.filters, params)}
         GROUP BY 1`,
        params,
      );
    },
    async samples(a) {
      const params: Params = { limit: a.limit };
      const where = `${timeParams(params, a.from, a.to)}${andFilters(a.filters, params)}${a.pick === 'failed' ? ` AND ${FAILED}` : ''}`;
      const order = a.pick === 'slowest' ? 'duration_ms DESC NULLS LAST' : 'started_at DESC';
      const rows = await all<{ id: string }>(`SELECT execution_id AS id FROM executions WHERE ${where} ORDER BY ${order}, execution_id LIMIT $limit`, params);
      return rows.map((r) => r.id);
    },
  };
}

/** The queries on one connection already open (a read that asks other questions too). */
export function alertSignalQueriesOn(db: Db): AlertSignalQueries {
  return duckdbAlertSignalQueries((task) => task(db));
}
