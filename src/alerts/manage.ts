import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { unknownFilterValues } from '../analytics/catalog.js';
import { parseWindow } from '../analytics/time-range.js';
import type { AuditEventInput } from '../access/audit.js';
import { parseInstant, type Clock } from '../clock.js';
import { NotFoundError, UserInputError } from '../errors.js';
import type { AnalyticsBackend } from '../analytics/backend.js';
import type { AlertStore } from './alert-store.js';
import { parseChannel, type Channel } from './channels.js';
import { parseRule, type AlertRule } from './rules.js';

/** The alerts file: channels by name and rules. */
export interface AlertsFile {
  channels: Map<string, Channel>;
  rules: AlertRule[];
}

/** Reads an alerts file (JSON, or YAML by its extension), with an error naming the entry at fault. */
export function loadAlertsFile(path: string, env: NodeJS.ProcessEnv = process.env): AlertsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserInputError(`--alerts ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new UserInputError(`--alerts ${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  return parseAlertsConfig(data, path, env);
}

export function parseAlertsConfig(data: unknown, where: string, env: NodeJS.ProcessEnv = process.env): AlertsFile {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new UserInputError(`${where}: expected an object with "channels" and "rules".`);
  const { channels: rawChannels = {}, rules: rawRules = [], ...rest } = data as { channels?: unknown; rules?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length) throw new UserInputError(`${where}: unknown top-level field(s) ${unknown.join(', ')}; the file has "channels" and "rules".`);
  if (!rawChannels || typeof rawChannels !== 'object' || Array.isArray(rawChannels)) throw new UserInputError(`${where}: "channels" is an object of channels by name.`);
  if (!Array.isArray(rawRules)) throw new UserInputError(`${where}: "rules" is a list.`);
  const channels = new Map(Object.entries(rawChannels as Record<string, unknown>).map(([name, value]) => [name, parseChannel(name, value, env)]));
  const rules = rawRules.map((raw, i) => parseRule(raw, `${where}: rules[${i}]${(raw as { name?: unknown })?.name ? ` (${String((raw as { name: unknown }).name)})` : ''}`));
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.name)) throw new UserInputError(`${where}: two rules are named ${rule.name}; names are unique.`);
    seen.add(rule.name);
    checkChannels(rule, channels);
  }
  return { channels, rules };
}

/** A rule may only name channels that are configured (their URLs live in the alerts file, not in the rule). */
export function checkChannels(rule: AlertRule, channels: ReadonlyMap<string, Channel>): void {
  const missing = rule.channels.filter((c) => !channels.has(c));
  if (missing.length) {
    const known = [...channels.keys()];
    throw new UserInputError(
      `rule ${rule.name} names channel(s) ${missing.join(', ')}, which are not configured; ${known.length ? `configured: ${known.join(', ')}` : 'no channel is configured (serve --alerts FILE configures them)'}.`,
    );
  }
}

/** Filter values that match nothing stored, with the closest names, as one error. */
export async function checkFilterValues(analytics: AnalyticsBackend, rule: AlertRule): Promise<void> {
  const problems = await unknownFilterValues(analytics, rule.filters);
  if (problems.length) {
    throw new UserInputError(
      `rule ${rule.name}: ${problems.map((p) => `no ${p.filter} is named ${JSON.stringify(p.value)}${p.closest.length ? ` (closest: ${p.closest.join(', ')})` : ''}`).join('; ')}. fleet_catalog lists the names that exist.`,
    );
  }
}

export interface RuleChangeContext {
  alerts: AlertStore;
  /** Records the change in the audit log (bound to whoever makes it); resolves once committed. */
  audit: { record(event: AuditEventInput): Promise<unknown> };
  /** Who makes the change, as stored with the rule. */
  actor: string;
  clock: Clock;
  channels: ReadonlyMap<string, Channel>;
}

/** Creates or replaces a rule: validated first, then audited, then stored (nothing stored on an error). */
export async function saveRule(ctx: RuleChangeContext, input: unknown, mode: 'create' | 'update'): Promise<AlertRule> {
  const rule = parseRule(input);
  checkChannels(rule, ctx.channels);
  await checkFilterValues(ctx.alerts.analytics, rule);
  const existing = await ctx.alerts.rule(rule.name);
  if (mode === 'create' && existing) throw new UserInputError(`a rule named ${rule.name} exists already; update_alert_rule changes it, or pick another name.`);
  if (mode === 'update' && !existing) throw new NotFoundError(`no rule is named ${rule.name}; alert_rules lists them, create_alert_rule makes one.`);
  await ctx.audit.record({ action: mode === 'create' ? 'alert_rule_create' : 'alert_rule_update', target: rule.name, details: { rule } });
  await ctx.alerts.putRule({ name: rule.name, kind: rule.kind, rule: JSON.stringify(rule), origin: 'tool', by: ctx.actor, at: ctx.clock.now() });
  return rule;
}

export async function deleteRule(ctx: RuleChangeContext, name: string, reason?: string): Promise<void> {
  const existing = await ctx.alerts.rule(name);
  if (!existing) throw new NotFoundError(`no rule is named ${name}; alert_rules lists them.`);
  await ctx.audit.record({ action: 'alert_rule_delete', target: name, reason, details: { rule: JSON.parse(existing.rule) } });
  await ctx.alerts.removeRule(name);
}

/** Silences a rule (or one of its alerts) until `until` or for `duration`: state goes on, notifications stop. */
export async function silence(ctx: RuleChangeContext, args: { rule: string; group?: string; reason: string; until?: string; duration?: string }): Promise<{ id: string; ends_at: string }> {
  const existing = await ctx.alerts.rule(args.rule);
  if (!existing) throw new NotFoundError(`no rule is named ${args.rule}; alert_rules lists them.`);
  if (args.reason.replace(/\s/g, '').length < 10) throw new UserInputError('reason must have at least 10 characters other than spaces: say why (a ticket, a maintenance window).');
  if (!args.until === !args.duration) throw new UserInputError('give the end of the silence as until (RFC 3339) or duration (like 2h), one of the two.');
  const now = ctx.clock.now();
  const ends = args.until ? parseInstant(args.until, 'until') : new Date(now.getTime() + parseWindow(args.duration!));
  if (ends <= now) throw new UserInputError(`until (${ends.toISOString()}) is not in the future (now is ${now.toISOString()}).`);
  if (ends.getTime() - now.getTime() > 90 * 86_400_000) throw new UserInputError('a silence lasts at most 90 days; disable the rule (update_alert_rule with enabled: false) for longer.');
  const id = `sil_${randomUUID()}`;
  await ctx.audit.record({ action: 'alert_silence', target: args.rule, reason: args.reason, details: { id, group: args.group ?? null, ends_at: ends.toISOString() } });
  await ctx.alerts.putSilence({ id, rule: args.rule, group_key: args.group ?? null, ends_at: ends, reason: args.reason, created_by: ctx.actor, created_at: now });
  return { id, ends_at: ends.toISOString() };
}

/**
 * Makes the stored file rules match the file: new and changed ones stored, those gone from the
 * file removed; rules made through the tools are left alone. Each change is audited.
 */
export async function syncFileRules(ctx: RuleChangeContext, file: AlertsFile, log: (line: string) => void): Promise<{ added: number; changed: number; removed: number }> {
  const stored = await ctx.alerts.rules();
  const byName = new Map(stored.map((r) => [r.name, r]));
  const counts = { added: 0, changed: 0, removed: 0 };
  for (const rule of file.rules) {
    const before = byName.get(rule.name);
    const json = JSON.stringify(rule);
    if (before && JSON.stringify(JSON.parse(before.rule)) === json && before.origin === 'file') continue;
    const problems = await unknownFilterValues(ctx.alerts.analytics, rule.filters);
    for (const p of problems) log(`alerts: rule ${rule.name}: no ${p.filter} is named ${JSON.stringify(p.value)} yet${p.closest.length ? ` (closest: ${p.closest.join(', ')})` : ''}; it is kept, and matches once one is.`);
    await ctx.audit.record({ action: before ? 'alert_rule_update' : 'alert_rule_create', target: rule.name, details: { rule, from_file: true } });
    await ctx.alerts.putRule({ name: rule.name, kind: rule.kind, rule: json, origin: 'file', by: ctx.actor, at: ctx.clock.now() });
    if (before) counts.changed++;
    else counts.added++;
  }
  const inFile = new Set(file.rules.map((r) => r.name));
  for (const row of stored) {
    if (row.origin !== 'file' || inFile.has(row.name)) continue;
    await ctx.audit.record({ action: 'alert_rule_delete', target: row.name, details: { from_file: true } });
    await ctx.alerts.removeRule(row.name);
    counts.removed++;
  }
  return counts;
}

