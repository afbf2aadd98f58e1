#!/usr/bin/env node
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { backtestRule } from '../src/alerts/backtest.js';
import { alertSignalQueriesOn } from '../src/analytics/duckdb/alert-signals.js';
import { AlertEngine } from '../src/alerts/engine.js';
import { parseRule, type AlertRule } from '../src/alerts/rules.js';
import { DEFAULT_MEMORY_LIMIT } from '../src/cli/config.js';
import { fixedClock } from '../src/clock.js';
import { putRule } from '../src/store/alerts.js';
import { Store } from '../src/store/store.js';
import { BENCH_ANCHOR } from './dataset.js';

/**
 * What alert evaluation costs on a big store: one rule of every kind, evaluated as `serve` does
 * once a minute (each cycle the minute since the last), and a 30-day backtest of each.
 */

/** One rule per kind, with the parameters a team would start from on the bench fleet. */
export const BENCH_RULES: AlertRule[] = [
  { name: 'bench-error-rate', kind: 'error_rate', group_by: 'tool', window: '15m', threshold: 0.2, min_executions: 20 },
  { name: 'bench-failures', kind: 'failures', group_by: 'server', window: '15m', threshold: 50 },
  { name: 'bench-spike', kind: 'volume_spike', factor: 3, min_count: 50 },
  { name: 'bench-latency', kind: 'latency_p95', group_by: 'tool', window: '15m', threshold_ms: 30_000, min_executions: 20 },
  { name: 'bench-budget', kind: 'budget', measure: 'tasks', period: 'month', limit: 1_000_000, group_by: 'team' },
  { name: 'bench-silence', kind: 'feed_silence', silent_for: '30m', group_by: 'client' },
  { name: 'bench-unused', kind: 'unused_tool', days: 30 },
  { name: 'bench-unmask', kind: 'unmask_activity', window: '24h', threshold: 5 },
  { name: 'bench-definitions', kind: 'tool_definition_changed', window: '1h' },
  { name: 'bench-export-lag', kind: 'export_lag', max_events: 10_000, max_delay: '15m' },
].map((r) => parseRule(r));

export interface AlertEvalResult {
  executions: number;
  cycles: number;
  /** Wall time of a whole cycle (all rules), ms. */
  cycle: { first: number; median: number; max: number };
  /** Median per rule across the cycles after the first, ms. */
  perRule: Record<string, number>;
  /** A 30-day backtest of each rule, ms. */
  backtest: Record<string, number>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => Math.round(x * 10) / 10;

export async function benchAlertEvaluation(dbPath: string, options: { cycles: number; anchor?: string }): Promise<AlertEvalResult> {
  const anchor = Date.parse(options.anchor ?? BENCH_ANCHOR);
  const store = await Store.open({ path: dbPath, clock: fixedClock(new Date(anchor)), memoryLimit: DEFAULT_MEMORY_LIMIT });
  try {
    const executions = (await store.read((db) => db.one<{ n: number }>('SELECT count(*)::DOUBLE AS n FROM executions')))?.n ?? 0;
    await store.write(async (db) => {
      await db.run("DELETE FROM alert_rules WHERE name LIKE 'bench-%'");
      await db.run("DELETE FROM alert_states WHERE rule LIKE 'bench-%'");
      await db.run("DELETE FROM alert_ticks WHERE rule LIKE 'bench-%'");
      for (const rule of BENCH_RULES) await putRule(db, { name: rule.name, kind: rule.kind, rule: JSON.stringify(rule), origin: 'file', by: 'bench', at: new Date(anchor) });
    });
    const engine = new AlertEngine(store, { clock: fixedClock(new Date(anchor)) });
    // Two hours before the end of the data: every window holds traffic.
    const start = anchor - 2 * 3_600_000;
    const cycleMs: number[] = [];
    const perRule: Record<string, number[]> = {};
    for (let i = 0; i < options.cycles; i++) {
      const started = performance.now();
      const results = await engine.evaluate({ at: new Date(start + i * 60_000) });
      cycleMs.push(performance.now() - started);
      const failed = results.filter((r) => r.error);
      if (failed.length) throw new Error(`rule ${failed[0]!.rule} failed: ${failed[0]!.error}`);
      if (i > 0) for (const r of results) (perRule[r.rule] ??= []).push(r.duration_ms);
    }
    const backtest: Record<string, number> = {};
    for (const rule of BENCH_RULES) {
      const started = performance.now();
      await store.read((db) => backtestRule(alertSignalQueriesOn(db), rule, { from: new Date(anchor - 30 * 86_400_000), to: new Date(anchor) }));
      backtest[rule.name] = ms(performance.now() - started);
    }
    return {
      executions,
      cycles: options.cycles,
      cycle: { first: ms(cycleMs[0]!), median: ms(median(cycleMs.slice(1))), max: ms(Math.max(...cycleMs.slice(1))) },
      perRule: Object.fromEntries(Object.entries(perRule).map(([k, v]) => [k, ms(median(v))])),
      backtest,
    };
  } finally {
    await store.close();
  }
}

export function alertEvalMarkdown(results: AlertEvalResult[], command: string): string[] {
  const f = (n: number) => n.toLocaleString('en-US');
  const out = [
    `One rule of each of the ${BENCH_RULES.length} kinds, evaluated as \`serve\` does once a minute: ${results[0]?.cycles ?? 0} cycles a minute apart on the data clock, each over the minute since the last, states and notifications written (\`${command}\`). Target: all rules within 1 s per cycle at 10M.`,
    '',
    `| executions | first cycle ms | cycle median ms | cycle max ms |`,
    '| ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${f(r.executions)} | ${r.cycle.first} | **${r.cycle.median}** | ${r.cycle.max} |`),
    '',
    `| rule (kind) | ${results.map((r) => `${f(r.executions)}: per cycle ms | 30-day backtest ms`).join(' | ')} |`,
    `| --- | ${results.map(() => '---: | ---:').join(' | ')} |`,
    ...BENCH_RULES.map((rule) => `| ${rule.name} (${rule.kind}) | ${results.map((r) => `${r.perRule[rule.name] ?? '-'} | ${r.backtest[rule.name] ?? '-'}`).join(' | ')} |`),
  ];
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { db: { type: 'string', multiple: true }, cycles: { type: 'string', default: '11' } } });
  const results: AlertEvalResult[] = [];
  for (const db of values.db ?? []) results.push(await benchAlertEvaluation(db, { cycles: Number(values.cycles) }));
  process.stdout.write(`${alertEvalMarkdown(results, `node dist-bench/bench/alert-eval.js ${(values.db ?? []).map((d) => `--db ${d}`).join(' ')} --cycles ${values.cycles}`).join('\n')}\n`);
}
