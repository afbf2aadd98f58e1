import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { FAILED, GROUP_COLUMNS, type AlertSignalQueries, type GroupColumn, type MinuteRow } from '../alert-signals.js';
import { FILTER_COLUMNS, type Filters } from '../filters.js';
import { sqlTime } from '../time-range.js';
import { versionsOf } from './catalog.js';
import { ChQuery } from './sql.js';
import { UserInputError } from '../../errors.js';

/**
 * The queries behind the alert signals (analytics/alert-signals.ts), on a ClickHouse store: each
 * execution once (FINAL), minutes as epoch ms of their start (floored, so times before 1970 fall
 * in the right minute too).
 */

const MIN = 60_000;
const HOUR = 60 * MIN;

const minuteOf = (column: string) => `floor(toUnixTimestamp64Milli(${column}) / 60000) * 60000`;
const groupExpr = (dimension: GroupColumn | undefined) => (dimension ? `coalesce(toString(${GROUP_COLUMNS[dimension]}), '(none)')` : "''");
const toolName = "concat(tool_name, if(ifNull(tool_server, '') = '', '', concat(' (', tool_server, ')')))";

/** The executions of [from, to) and the filters, each once. */
function scope(q: ChQuery, from: number, to: number, filters: Filters): string {
  return q.executions({ from: new Date(from), to: new Date(to) }, filters);
}

export function clickhouseAlertSignalQueries(ch: ClickHouseDb, options: { exportLags?: AlertSignalQueries['exportLags'] } = {}): AlertSignalQueries {
  return {
    executionMinutes(a) {
      const q = new ChQuery(ch);
      let failed = FAILED;
      if (a.errorType) failed += ` AND error_type = ${q.value(a.errorType, 'String')}`;
      if (a.errorLayer) failed += ` AND error_layer = ${q.value(a.errorLayer, 'String')}`;
      const durations = a.durations ? `, groupArrayIf(assumeNotNull(duration_ms), duration_ms IS NOT NULL AND status != 'running') AS d` : '';
      return q.all(
        `SELECT ${groupExpr(a.groupBy)} AS g, ${minuteOf('started_at')} AS m, countIf(status != 'running') AS n, countIf(${failed}) AS f${durations}
         FROM ${scope(q, a.from, a.to, a.filters)} GROUP BY g, m`,
      );
    },
    volumeMinutes(a) {
      const q = new ChQuery(ch);
      const measure = a.measure === 'tasks' ? 'sum(tasks)' : a.measure === 'failures' ? `countIf(${FAILED})` : 'count()';
      const ranges = a.ranges.map((r) => `(started_at >= ${q.time(new Date(r.from))} AND started_at < ${q.time(new Date(r.to))})`).join(' OR ');
      return q.all(
        `SELECT ${minuteOf('started_at')} AS m, toFloat64(${measure}) AS v, toFloat64(count()) AS n
         FROM ${ch.t('executions')} FINAL WHERE (${ranges})${q.filters(a.filters)} GROUP BY m`,
      );
    },
    spent(a) {
      const q = new ChQuery(ch);
      return q.all(
        `SELECT coalesce(toString(${FILTER_COLUMNS[a.groupBy]}), '(none)') AS g, toFloat64(coalesce(sum(${a.measure}), 0)) AS v
         FROM ${scope(q, a.from, a.to, a.filters)} GROUP BY g`,
      );
    },
    spentMinutes(a) {
      const q = new ChQuery(ch);
      return q.all(
        `SELECT coalesce(toString(${FILTER_COLUMNS[a.groupBy]}), '(none)') AS g, ${minuteOf('started_at')} AS m, toFloat64(coalesce(sum(${a.measure}), 0)) AS v
         FROM ${scope(q, a.from, a.to, a.filters)} GROUP BY g, m ORDER BY m, g`,
      );
    },
    lastMinutes(a) {
      const q = new ChQuery(ch);
      return q.all(`SELECT ${groupExpr(a.groupBy)} AS g, ${minuteOf('max(started_at)')} AS m FROM ${scope(q, a.from, a.to, a.filters)} GROUP BY g`);
    },
    minutes(a) {
      const q = new ChQuery(ch);
      return q.all(`SELECT DISTINCT ${groupExpr(a.groupBy)} AS g, ${minuteOf('started_at')} AS m FROM ${scope(q, a.from, a.to, a.filters)}`);
    },
    async catalogTools(a) {
      // The tools that ran (when first, by their current versions) and the ones only a catalog or tool list named.
      const q = new ChQuery(ch);
      const where = [
        ...(a.tool !== undefined ? [`name = ${q.value(a.tool, 'String')}`] : []),
        ...(a.server !== undefined ? [`server = ${q.value(a.server, 'String')}`] : []),
      ];
      const rows = await q.all<{ name: string; server: string; first_ms: number | null }>(
        `SELECT name, server, min(first_ms) AS first_ms FROM (
           SELECT tool_name AS name, ifNull(tool_server, '') AS server, toNullable(toFloat64(toUnixTimestamp64Milli(min(started_at)))) AS first_ms
           FROM ${ch.t('executions')} FINAL GROUP BY name, server
           UNION ALL
           SELECT name, server, CAST(NULL, 'Nullable(Float64)') AS first_ms FROM ${ch.t('catalog_tools')}
         ) ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY name, server`,
      );
      return rows.map((r) => ({ g: r.server ? `${r.name} (${r.server})` : r.name, first_seen: r.first_ms }));
    },
    async usedHours(a) {
      // Every hour that starts in [from, to), used by any of its executions (as DuckDB's hourly rollup counts it).
      const q = new ChQuery(ch);
      const rows = await q.all<MinuteRow>(
        `SELECT DISTINCT ${toolName} AS g, floor(toUnixTimestamp64Milli(started_at) / ${HOUR}) * ${HOUR} AS m
         FROM ${ch.t('executions')} FINAL
         WHERE started_at >= ${q.time(new Date(Math.ceil(a.from / HOUR) * HOUR))} AND started_at < ${q.time(new Date(Math.ceil(a.to / HOUR) * HOUR))}`,
      );
      return rows.filter((r) => r.m < a.to);
    },
    unmaskMinutes(a) {
      const q = new ChQuery(ch);
      return q.all(
        `SELECT actor AS g, ${minuteOf('at')} AS m, count() AS n, countIf(action = 'unmask_denied') AS denied, arraySort(groupArray(toFloat64(seq))) AS seqs
         FROM ${ch.t('audit_events')}
         WHERE at >= ${q.value(sqlTime(new Date(a.from)), "DateTime64(3, 'UTC')")} AND at < ${q.value(sqlTime(new Date(a.to)), "DateTime64(3, 'UTC')")}
           AND action IN ${q.value([...a.actions], 'Array(String)')}
         GROUP BY g, m`,
      );
    },
    async listChanges(a) {
      // The versions, derived from every sighting as the catalog derives them (catalog.ts).
      const [lists, definitions] = await Promise.all([
        ch.all<{ server: string; hash: string; seen_us: number }>(`SELECT server, tools_sha256 AS hash, toUnixTimestamp64Micro(seen_at) AS seen_us FROM ${ch.t('tool_list_sightings')} ORDER BY server, seen_at`),
        ch.all<{ server: string; name: string; same: string; seen_us: number }>(
          `SELECT server, name, toJSONString((description, input_schema_sha256)) AS same, toUnixTimestamp64Micro(seen_at) AS seen_us
           FROM ${ch.t('tool_definition_sightings')} ORDER BY server, name, seen_at`,
        ),
      ]);
      const definedAt = new Map<string, Set<string>>();
      for (const [key, versions] of versionsOf(definitions, (r) => `${r.server}\u0000${r.name}`, (r) => r.same)) {
        const [server, name] = key.split('\u0000') as [string, string];
        for (const v of versions) {
          const at = `${server}\u0000${v.first}`;
          definedAt.set(at, (definedAt.get(at) ?? new Set()).add(name));
        }
      }
      const out = new Map<string, MinuteRow & { n: number; firsts: Set<number>; tools: Set<string> }>();
      for (const [server, versions] of versionsOf(lists, (r) => r.server, (r) => r.hash)) {
        if (a.server !== undefined && server !== a.server) continue;
        // A server's first list is not a change.
        for (const v of versions.slice(1)) {
          const ms = v.first / 1000;
          if (ms < a.from || ms >= a.to) continue;
          const m = Math.floor(ms / MIN) * MIN;
          const row = out.get(`${server}\u0000${m}`) ?? { g: server, m, n: 0, firsts: new Set<number>(), tools: new Set<string>() };
          row.firsts.add(v.first);
          for (const name of definedAt.get(`${server}\u0000${v.first}`) ?? []) row.tools.add(name);
          out.set(`${server}\u0000${m}`, row);
        }
      }
      return [...out.values()].map(({ firsts, tools, ...row }) => ({ ...row, n: firsts.size, tools: [...tools].sort() }));
    },
    exportLags:
      options.exportLags ??
      (async () => {
        throw new UserInputError('export_lag watches the sinks the serve instances register: ask a serve (its alerting), not this command.');
      }),
    series(a) {
      const q = new ChQuery(ch);
      const from = a.to - a.bucketMs * a.buckets;
      return q.all(
        `SELECT toInt64(floor((toUnixTimestamp64Milli(started_at) - ${q.value(from, 'Int64')}) / ${q.value(a.bucketMs, 'Float64')})) AS i,
                count() AS executions, countIf(${FAILED}) AS failed, quantileExactInclusiveIf(0.95)(duration_ms, duration_ms IS NOT NULL) AS p95_raw,
                if(countIf(duration_ms IS NOT NULL) = 0, NULL, p95_raw) AS p95_ms
         FROM ${scope(q, from, a.to, a.filters)} GROUP BY i`,
      );
    },
    async samples(a) {
      const q = new ChQuery(ch);
      const order = a.pick === 'slowest' ? 'duration_ms DESC NULLS LAST' : 'started_at DESC';
      const rows = await q.all<{ id: string }>(
        `SELECT execution_id AS id FROM ${scope(q, a.from, a.to, a.filters)}${a.pick === 'failed' ? ` AND ${FAILED}` : ''}
         ORDER BY ${order}, execution_id LIMIT ${q.value(a.limit, 'UInt32')}`,
      );
      return rows.map((r) => r.id);
    },
  };
}
