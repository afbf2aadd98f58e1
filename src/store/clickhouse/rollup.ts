import { ROLLUP_DIMENSIONS } from '../rollup.js';
import type { ClickHouseDb } from './client.js';
import { hourOf } from './hour.js';

/**
 * ClickHouse's hourly rollup: the same counts as DuckDB's hourly_usage (per hour and the nine
 * dimensions), kept exact without a transaction across writers.
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
 * What is left: a version another writer stored between this writer's two reads, counted by a
 * refresh in that moment, and merged away by ClickHouse before the second read, would leave its
 * hour counted until the hour is next marked.
 * Any number of instances may refresh at once: a generation is a complete recount, whichever is
 * latest is used, and the others are deleted an hour after they were superseded.
 */

const DIMS = ROLLUP_DIMENSIONS.join(', ');
/**
 * An hour's generation id, one per refresh run and hour: a reader names the generations it uses
 * as one list (generation IN ...), cheaper than pairs of hour and generation.
 */
const GENERATION = (hour: string) => `reinterpretAsUUID(sipHash128({run:String}, ${hour}))`;
const HOUR_MS = 3_600_000;
/** Hours recomputed by one statement: a week of a busy fleet is about a million executions. */
const HOURS_PER_STATEMENT = 168;

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
  /** An hour is recomputed once its latest mark is this old. */
  settleMs: number;
  /** At most this many hours per refresh (the oldest marks first). */
  maxHours?: number;
  /** A superseded generation is deleted once it is this old (default an hour: far longer than any query that chose it). */
  keepSupersededMs?: number;
}

export interface RefreshReport {
  hours: number;
  rows: number;
  /** Hours still marked after this refresh (not settled, or past maxHours). */
  waiting: number;
}

/** Recomputes the settled marked hours; returns what it did. Safe to run from several instances at once. */
export async function refreshRollup(ch: ClickHouseDb, options: RefreshOptions): Promise<RefreshReport> {
  const marked = await ch.all<{ hour_ms: number; settled: number }>(
    `SELECT toUnixTimestamp64Milli(mk.hour) AS hour_ms, mk.last_marked < now64(6) - toIntervalMillisecond({settle:UInt64}) AS settled
     FROM (SELECT hour, max(marked_at) AS last_marked FROM ${ch.t('rollup_marks')} GROUP BY hour) AS mk
     LEFT JOIN (SELECT hour, max(computed_at) AS last_computed FROM ${ch.t('rollup_hours')} GROUP BY hour) AS cp ON cp.hour = mk.hour
     WHERE cp.last_computed IS NULL OR mk.last_marked >= cp.last_computed
     ORDER BY mk.hour`,
    { settle: Math.max(0, Math.round(options.settleMs)) },
  );
  const due = marked.filter((m) => m.settled).map((m) => m.hour_ms).slice(0, options.maxHours ?? Infinity);
  let rows = 0;
  for (const run of runsOf(due)) {
    // The generation's time is taken before its read: a mark after it is newer, whatever the read saw.
    const stamp = await ch.one<{ at: string; run: string }>('SELECT toString(now64(6)) AS at, toString(generateUUIDv4()) AS run');
    const params = { from: iso(run.from), to: iso(run.to), at: stamp!.at, run: stamp!.run };
    await ch.command(
      `INSERT INTO ${ch.t('hourly_usage')} (hour, generation, computed_at, ${DIMS}, n, s_tasks, s_cost, n_no_cost, n_defaulted, first_at, last_at)
       SELECT ${hourOf('started_at')} AS hour_start, ${GENERATION('hour_start')}, {at:DateTime64(6, 'UTC')}, ${DIMS},
              count(), sum(tasks), sum(cost_usd), countIf(cost_usd IS NULL), countIf(NOT tasks_given), min(started_at), max(started_at)
       FROM ${ch.t('executions')} FINAL
       WHERE started_at >= {from:DateTime64(6, 'UTC')} AND started_at < {to:DateTime64(6, 'UTC')}
       GROUP BY hour_start, ${DIMS}`,
      params,
    );
    // Registered after its rows: a reader that finds the generation finds all of it.
    const totals = await ch.all<{ hour_ms: number; groups: number; n_all: number; first_at: string; last_at: string }>(
      `SELECT toUnixTimestamp64Milli(hour) AS hour_ms, count() AS groups, sum(n) AS n_all, toString(min(first_at)) AS first_at, toString(max(last_at)) AS last_at
       FROM ${ch.t('hourly_usage')} WHERE computed_at = {at:DateTime64(6, 'UTC')} AND hour >= {from:DateTime64(6, 'UTC')} AND hour < {to:DateTime64(6, 'UTC')}
       GROUP BY hour`,
      params,
    );
    const byHour = new Map(totals.map((t) => [Number(t.hour_ms), t]));
    await ch.command(
      `INSERT INTO ${ch.t('rollup_hours')} (hour, generation, computed_at, n, first_at, last_at)
       SELECT h.1, ${GENERATION('h.1')}, {at:DateTime64(6, 'UTC')}, h.2, h.3, h.4
       FROM (SELECT arrayJoin(arrayZip({hours:Array(DateTime64(6, 'UTC'))}, {counts:Array(UInt64)},
                                       {firsts:Array(Nullable(DateTime64(6, 'UTC')))}, {lasts:Array(Nullable(DateTime64(6, 'UTC')))})) AS h)`,
      {
        ...params,
        hours: run.hours.map(iso),
        counts: run.hours.map((h) => byHour.get(h)?.n_all ?? 0),
        firsts: run.hours.map((h) => byHour.get(h)?.first_at ?? null),
        lasts: run.hours.map((h) => byHour.get(h)?.last_at ?? null),
      },
    );
    rows += totals.reduce((sum, t) => sum + t.groups, 0);
  }
  if (due.length) await dropSuperseded(ch, options.keepSupersededMs ?? 3_600_000);
  return { hours: due.length, rows, waiting: marked.length - due.length };
}

/**
 * Deletes the generations older than `keepMs` that are not their hour's latest (and any a crashed
 * refresh left without registering them): a query that chose one before it was superseded has
 * long finished.
 */
async function dropSuperseded(ch: ClickHouseDb, keepMs: number): Promise<void> {
  const stale = `computed_at < now64(6) - toIntervalMillisecond({keep:UInt64})
    AND (hour, generation) NOT IN (SELECT hour, argMax(generation, computed_at) FROM ${ch.t('rollup_hours')} GROUP BY hour)`;
  const params = { keep: Math.max(0, Math.round(keepMs)) };
  const found = await ch.one<{ n: number }>(`SELECT count() AS n FROM ${ch.t('rollup_hours')} WHERE ${stale}`, params);
  if (!found?.n) return;
  await ch.command(`DELETE FROM ${ch.t('hourly_usage')} WHERE ${stale}`, params);
  await ch.command(`DELETE FROM ${ch.t('rollup_hours')} WHERE ${stale}`, params);
}

/** Consecutive hours as runs of at most HOURS_PER_STATEMENT. */
function runsOf(hours: number[]): Array<{ from: number; to: number; hours: number[] }> {
  const runs: Array<{ from: number; to: number; hours: number[] }> = [];
  for (const hour of hours) {
    const last = runs.at(-1);
    if (last && last.to === hour && last.hours.length < HOURS_PER_STATEMENT) {
      last.to = hour + HOUR_MS;
      last.hours.push(hour);
    } else runs.push({ from: hour, to: hour + HOUR_MS, hours: [hour] });
  }
  return runs;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

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
        if (report.hours) this.options.log(`rollup: ${report.hours} hours recomputed (${report.rows} rows), ${report.waiting} waiting`);
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
