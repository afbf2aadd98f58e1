import { sqlTime } from '../../clock.js';
import { ROLLUP_DIMENSIONS } from '../rollup.js';
import type { ClickHouseDb } from './client.js';
import { dayOf, hourOf } from './hour.js';

/**
 * ClickHouse's rollup: the same counts as DuckDB's hourly_usage (per hour and the nine
 * dimensions), and per day, kept exact without a transaction across writers.
 *
 * DuckDB adds and takes out each replaced execution inside the write's transaction. ClickHouse
 * has no such transaction, and several instances write the same ids, so a delta could be counted
 * twice or lost. Instead:
 * - a writer marks every hour a batch touches (those of the stored versions it replaces, and of
 *   the new ones), once before its insert and once after ClickHouse confirmed it, reading the
 *   replaced ids' stored versions again after its insert;
 * - a refresh recomputes marked hours whole from executions FINAL, as a new generation stamped
 *   with the server's time taken before it read anything;
 * - a reader uses an hour's latest generation only if it is newer than the hour's latest mark,
 *   and counts every other hour from executions.
 * An insert the refresh could not see lands after it began, and its mark after that: the hour
 * reads as marked again. The mark before the insert covers a writer that dies between its insert
 * and its second mark: a refresh takes an hour only once its latest mark is `settleMs` old, by
 * when an insert begun before that mark has landed or failed.
 * What is left: a version another writer stored while this one was between its lookup and its
 * insert, counted by a refresh in that moment, and then replaced by this writer's version with a
 * start in another hour, leaves its hour counted until that hour is next marked, when the id was
 * new at the lookup (only replaced ids are read again) or the version was merged away before the
 * second read. It needs two writers sending one id with different starts at the same moment.
 * Any number of instances may refresh at once: a generation is a complete recount, whichever is
 * latest is used, and the others are deleted an hour after they were superseded.
 */

const DIMS = ROLLUP_DIMENSIONS.join(', ');
/**
 * A unit's generation id, one per refresh run and unit (hour or day): a reader names the
 * generations it uses as one list (generation IN ...), cheaper than pairs of unit and generation.
 */
const GENERATION = (unit: string) => `reinterpretAsUUID(sipHash128({run:String}, ${unit}))`;
const HOUR_MS = 3_600_000;

/**
 * The two levels: hours, and UTC days for the questions that do not group by hour (a 30-day
 * window reads about a tenth of the rows). A day follows the same rule as an hour: current while
 * its latest generation is newer than the latest mark of any of its hours.
 */
export const ROLLUP_LEVELS = {
  hour: { rows: 'hourly_usage', registry: 'rollup_hours', column: 'hour', ms: HOUR_MS, startOf: hourOf, perStatement: 168 },
  day: { rows: 'daily_usage', registry: 'rollup_days', column: 'day', ms: 24 * HOUR_MS, startOf: dayOf, perStatement: 7 },
} as const;
export type RollupLevel = keyof typeof ROLLUP_LEVELS;

/** Marks hours (as hourText writes them) to be recomputed. */
export async function markHours(ch: ClickHouseDb, hours: Iterable<string>): Promise<void> {
  const rows = [...new Set(hours)].map((hour) => ({ hour }));
  if (rows.length) await ch.insert('rollup_marks', rows);
}

/** Marks every hour that holds an execution (after a bulk copy that bypassed the writer). */
export async function markAllHours(ch: ClickHouseDb): Promise<void> {
  await ch.command(`INSERT INTO ${ch.t('rollup_marks')} (hour) SELECT DISTINCT ${hourOf('started_at')} FROM ${ch.t('executions')}`);
}

export interface RefreshOptions {
  /** A unit is recomputed once its latest mark is this old. */
  settleMs: number;
  /** At most this many hours (and as many days) per refresh, the oldest marks first. */
  maxHours?: number;
  /** A superseded generation is deleted once it is this old (default an hour: far longer than any query that chose it). */
  keepSupersededMs?: number;
}

export interface RefreshReport {
  hours: number;
  days: number;
  /** Rows written, both levels. */
  rows: number;
  /** Hours still marked after this refresh (not settled, or past maxHours). */
  waiting: number;
}

/** Recomputes the settled marked hours, then days; returns what it did. Safe to run from several instances at once. */
export async function refreshRollup(ch: ClickHouseDb, options: RefreshOptions): Promise<RefreshReport> {
  const hours = await refreshLevel(ch, 'hour', options);
  const days = await refreshLevel(ch, 'day', options);
  if (hours.units + days.units) await dropSuperseded(ch, options.keepSupersededMs ?? 3_600_000);
  return { hours: hours.units, days: days.units, rows: hours.rows + days.rows, waiting: hours.waiting };
}

async function refreshLevel(ch: ClickHouseDb, level: RollupLevel, options: RefreshOptions): Promise<{ units: number; rows: number; waiting: number }> {
  const { rows: table, registry, column, ms, startOf, perStatement } = ROLLUP_LEVELS[level];
  const marked = await ch.all<{ unit_ms: number; settled: number }>(
    `SELECT toUnixTimestamp64Milli(mk.unit) AS unit_ms, mk.last_marked < now64(6) - toIntervalMillisecond({settle:UInt64}) AS settled
     FROM (SELECT ${startOf('hour')} AS unit, max(marked_at) AS last_marked FROM ${ch.t('rollup_marks')} GROUP BY unit) AS mk
     LEFT JOIN (SELECT ${column} AS unit, max(computed_at) AS last_computed FROM ${ch.t(registry)} GROUP BY unit) AS cp ON cp.unit = mk.unit
     WHERE cp.last_computed IS NULL OR mk.last_marked >= cp.last_computed
     ORDER BY mk.unit`,
    { settle: Math.max(0, Math.round(options.settleMs)) },
  );
  const due = marked.filter((m) => m.settled).map((m) => Number(m.unit_ms)).slice(0, options.maxHours ?? Infinity);
  let rows = 0;
  for (const run of runsOf(due, ms, perStatement)) {
    // The generation's time is taken before its read: a mark after it is newer, whatever the read saw.
    const stamp = await ch.one<{ at: string; run: string }>('SELECT toString(now64(6)) AS at, toString(generateUUIDv4()) AS run');
    const params = { from: iso(run.from), to: iso(run.to), at: stamp!.at, run: stamp!.run };
    // On a cluster it reads only from a replica holding every quorum-confirmed insert (else it
    // fails, and the next tick tries again).
    await ch.command(
      `INSERT INTO ${ch.t(table)} (${column}, generation, computed_at, ${DIMS}, n, s_tasks, s_cost, n_no_cost, n_defaulted, first_at, last_at)
       SELECT ${startOf('started_at')} AS unit_start, ${GENERATION('unit_start')}, {at:DateTime64(6, 'UTC')}, ${DIMS},
              count(), sum(tasks), sum(cost_usd), countIf(cost_usd IS NULL), countIf(NOT tasks_given), min(started_at), max(started_at)
       FROM ${ch.t('executions')} FINAL
       WHERE started_at >= {from:DateTime64(6, 'UTC')} AND started_at < {to:DateTime64(6, 'UTC')}
       GROUP BY unit_start, ${DIMS}${ch.sequentialReads}`,
      params,
    );
    // Registered after its rows, with their totals: a reader that finds the generation finds all of it.
    const totals = await ch.all<{ unit_ms: number; groups: number; n_all: number; first_at: string; last_at: string }>(
      `SELECT toUnixTimestamp64Milli(${column}) AS unit_ms, count() AS groups, sum(n) AS n_all, toString(min(first_at)) AS first_at, toString(max(last_at)) AS last_at
       FROM ${ch.t(table)} WHERE computed_at = {at:DateTime64(6, 'UTC')} AND ${column} >= {from:DateTime64(6, 'UTC')} AND ${column} < {to:DateTime64(6, 'UTC')}
       GROUP BY ${column}`,
      params,
    );
    const byUnit = new Map(totals.map((t) => [Number(t.unit_ms), t]));
    await ch.command(
      `INSERT INTO ${ch.t(registry)} (${column}, generation, computed_at, n, first_at, last_at)
       SELECT u.1, ${GENERATION('u.1')}, {at:DateTime64(6, 'UTC')}, u.2, u.3, u.4
       FROM (SELECT arrayJoin(arrayZip({units:Array(DateTime64(6, 'UTC'))}, {counts:Array(UInt64)},
                                       {firsts:Array(Nullable(DateTime64(6, 'UTC')))}, {lasts:Array(Nullable(DateTime64(6, 'UTC')))})) AS u)`,
      {
        ...params,
        units: run.units.map(iso),
        counts: run.units.map((u) => byUnit.get(u)?.n_all ?? 0),
        firsts: run.units.map((u) => byUnit.get(u)?.first_at ?? null),
        lasts: run.units.map((u) => byUnit.get(u)?.last_at ?? null),
      },
    );
    rows += totals.reduce((sum, t) => sum + t.groups, 0);
  }
  return { units: due.length, rows, waiting: marked.length - due.length };
}

/**
 * Deletes the generations older than `keepMs` that are not their unit's latest (and any a crashed
 * refresh left without registering them): a query that chose one before it was superseded has
 * long finished.
 */
async function dropSuperseded(ch: ClickHouseDb, keepMs: number): Promise<void> {
  const params = { keep: Math.max(0, Math.round(keepMs)) };
  for (const { rows, registry, column } of Object.values(ROLLUP_LEVELS)) {
    const stale = `computed_at < now64(6) - toIntervalMillisecond({keep:UInt64})
      AND (${column}, generation) NOT IN (SELECT ${column}, argMax(generation, computed_at) FROM ${ch.t(registry)} GROUP BY ${column})`;
    const found = await ch.one<{ n: number }>(`SELECT count() AS n FROM ${ch.t(registry)} WHERE ${stale}`, params);
    if (!found?.n) continue;
    await ch.command(`DELETE FROM ${ch.t(rows)} WHERE ${stale}`, params);
    await ch.command(`DELETE FROM ${ch.t(registry)} WHERE ${stale}`, params);
  }
}

/** Consecutive units as runs of at most `perRun`. */
function runsOf(units: number[], ms: number, perRun: number): Array<{ from: number; to: number; units: number[] }> {
  const runs: Array<{ from: number; to: number; units: number[] }> = [];
  for (const unit of units) {
    const last = runs.at(-1);
    if (last && last.to === unit && last.units.length < perRun) {
      last.to = unit + ms;
      last.units.push(unit);
    } else runs.push({ from: unit, to: unit + ms, units: [unit] });
  }
  return runs;
}

const iso = (ms: number) => sqlTime(new Date(ms));

/**
 * Refreshes the rollup every `intervalMs` while a serve runs, one refresh at a time per instance;
 * failures are logged and the next tick tries again (the readers stay exact either way).
 */
export class RollupRefresher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ch: ClickHouseDb,
    private readonly options: RefreshOptions & { intervalMs: number; log: (line: string) => void },
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running) return;
    this.running = refreshRollup(this.ch, this.options)
      .then((report) => {
        if (report.hours || report.days) this.options.log(`rollup: ${report.hours} hours and ${report.days} days recomputed (${report.rows} rows), ${report.waiting} hours waiting`);
      })
      .catch((error: Error) => this.options.log(`rollup refresh failed (answers stay exact, read from executions): ${error.message}`))
      .finally(() => {
        this.running = undefined;
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
