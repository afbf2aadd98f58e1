import { alertSignalQueriesOn } from '../../analytics/duckdb/alert-signals.js';
import { resolve } from 'node:path';
import { backtestRule, backtestText } from '../../alerts/backtest.js';
import { parseState, storedRule, storedRules } from '../../alerts/engine.js';
import { loadAlertsFile } from '../../alerts/manage.js';
import { describeRule, parseRule, type AlertRule } from '../../alerts/rules.js';
import { unknownFilterValues } from '../../analytics/catalog.js';
import { checkTimeZone, resolveRange } from '../../analytics/time-range.js';
import { clockFrom, type Clock } from '../../clock.js';
import { NotFoundError, UserInputError } from '../../errors.js';
import { duckdbAlertStore } from '../../alerts/alert-store.js';
import type { Store } from '../../store/store.js';
import { resolveConfig, type CommonFlags } from '../config.js';
import { onStoreOrOwner, type CommandOutput } from '../owner.js';
import { duckdbAnalytics } from '../../analytics/duckdb/index.js';

interface Defaults {
  clock: Clock;
  tz?: string;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** `alerts list`: the rules, what fires now, and notifications still owed. */
export async function alertsListReport(store: Store): Promise<CommandOutput> {
  const alerts = duckdbAlertStore(store);
  const [rules, states, ticks, owed] = await Promise.all([storedRules(alerts), alerts.states(), alerts.ticks(), alerts.notifications({ limit: 1000, undelivered: true })]);
  if (rules.length === 0) return { text: 'No alert rules. serve --alerts FILE loads them; admins add them with create_alert_rule.\n', code: 0 };
  const tick = new Map(ticks.map((t) => [t.rule, t]));
  const out: string[] = [];
  for (const entry of rules) {
    const open = states.filter((s) => s.rule === entry.name).map((s) => parseState(s.state)).filter((s) => s.status !== 'resolved');
    const t = tick.get(entry.name);
    out.push(`${entry.name}  ${entry.rule ? `${entry.rule.kind}, ${entry.rule.severity}${entry.rule.enabled ? '' : ', DISABLED'}: ${describeRule(entry.rule)}` : `unreadable: ${entry.error}`}`);
    out.push(`  channels ${entry.rule?.channels.join(', ') || 'none'}; from ${entry.origin} (${entry.updated_by}, ${entry.updated_at}); last evaluated ${t?.last_tick ?? 'never'}${t?.last_error ? `; ERROR ${t.last_error}` : ''}`);
    for (const s of open) {
      out.push(`  ${s.status.toUpperCase()} ${s.group || '(fleet)'} since ${new Date(s.active_since).toISOString()}: ${s.value} vs ${s.threshold}`);
    }
  }
  if (owed.length) {
    const failing = owed.filter((n) => n.last_error);
    out.push(`${owed.length} notification(s) not delivered yet${failing.length ? `; last error on ${failing[0]!.channel}: ${failing[0]!.last_error}` : ''}`);
  }
  return { text: `${out.join('\n')}\n`, code: 0 };
}

/** `alerts backtest NAME`: a saved rule over a past window. */
export async function alertsBacktestReport(store: Store, args: { name: string; window?: string; now?: string; tz?: string }, defaults: Defaults): Promise<CommandOutput> {
  const saved = await storedRule(duckdbAlertStore(store), args.name);
  if (!saved) throw new NotFoundError(`no rule is named ${args.name}; mcp-blackbox alerts list shows them, alerts test FILE tries a file's rules.`);
  if (!saved.rule) throw new UserInputError(`rule ${args.name} cannot be read: ${saved.error}`);
  return { text: `${await backtestOne(store, saved.rule, args, defaults)}\n`, code: 0 };
}

/** `alerts test FILE`: every rule of a file checked against the data and backtested, before serve loads it. */
export async function alertsTestReport(store: Store, args: { rules: unknown[]; window?: string; now?: string; tz?: string }, defaults: Defaults): Promise<CommandOutput> {
  const out: string[] = [];
  for (const raw of args.rules) {
    const rule = parseRule(raw);
    const problems = await unknownFilterValues(duckdbAnalytics((task) => store.read(task)), rule.filters);
    for (const p of problems) out.push(`warning: ${rule.name}: no ${p.filter} is named ${JSON.stringify(p.value)} in the data${p.closest.length ? ` (closest: ${p.closest.join(', ')})` : ''}`);
    out.push(await backtestOne(store, rule, args, defaults), '');
  }
  return { text: `${out.join('\n')}\n`, code: 0 };
}

async function backtestOne(store: Store, rule: AlertRule, args: { window?: string; now?: string; tz?: string }, defaults: Defaults): Promise<string> {
  const clock = args.now ? clockFrom(args.now) : defaults.clock;
  const tz = args.tz ? checkTimeZone(args.tz) : defaults.tz;
  const range = resolveRange({ window: args.window ?? '30d', tz }, clock, '30d');
  const report = await store.read((db) => backtestRule(alertSignalQueriesOn(db), rule, range, tz));
  return backtestText(report, rule);
}

/** The commands an owner runs for a CLI (owner.ts), by name. */
export function alertOwnerCommands(store: Store, defaults: Defaults) {
  return {
    'alerts-list': () => alertsListReport(store),
    'alerts-backtest': (args: Record<string, unknown>) => alertsBacktestReport(store, { name: text(args.name) ?? '', window: text(args.window), now: text(args.now), tz: text(args.tz) }, defaults),
    'alerts-test': (args: Record<string, unknown>) => alertsTestReport(store, { rules: Array.isArray(args.rules) ? args.rules : [], window: text(args.window), now: text(args.now), tz: text(args.tz) }, defaults),
  };
}

type AlertFlags = CommonFlags & { window?: string };

export async function alertsListCommand(flags: CommonFlags): Promise<number> {
  const config = resolveConfig(flags, process.env);
  const out = await onStoreOrOwner(config, 'alerts-list', {}, (store) => alertsListReport(store));
  process.stdout.write(out.text);
  return out.code;
}

export async function alertsBacktestCommand(name: string, flags: AlertFlags): Promise<number> {
  const config = resolveConfig(flags, process.env);
  const args = { name, window: flags.window, now: flags.now, tz: config.tz };
  const out = await onStoreOrOwner(config, 'alerts-backtest', args, (store) => alertsBacktestReport(store, args, config));
  process.stdout.write(out.text);
  return out.code;
}

export async function alertsTestCommand(file: string, flags: AlertFlags): Promise<number> {
  // The file is read here, with this shell's environment for its env: secrets; only the rules travel.
  const parsed = loadAlertsFile(resolve(file));
  process.stdout.write(`${file}: ${parsed.channels.size} channel(s) (${[...parsed.channels].map(([n, c]) => `${n}: ${c.type}`).join(', ') || 'none'}), ${parsed.rules.length} rule(s): valid.\n\n`);
  if (parsed.rules.length === 0) return 0;
  const config = resolveConfig(flags, process.env);
  const args = { rules: parsed.rules, window: flags.window, now: flags.now, tz: config.tz };
  const out = await onStoreOrOwner(config, 'alerts-test', args, (store) => alertsTestReport(store, args, config));
  process.stdout.write(out.text);
  return out.code;
}
