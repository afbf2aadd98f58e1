import { z } from 'zod';
import { parseWindow } from '../analytics/time-range.js';
import { UserInputError } from '../errors.js';
import { ERROR_LAYERS } from '../model.js';

/**
 * Alert rules: what each kind watches, its parameters and their defaults. A rule is data (it is
 * stored as JSON and loaded from files); this module is the one statement of its shape, and
 * every entry (MCP tools, --alerts FILE, `alerts test`) parses through `parseRule`.
 */

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RULE_KINDS = [
  'error_rate',
  'failures',
  'volume_spike',
  'latency_p95',
  'budget',
  'feed_silence',
  'unused_tool',
  'unmask_activity',
  'tool_definition_changed',
  'export_lag',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Milliseconds of a rule duration like 15m, 2h, 7d; "0m" (or "0") for `for` means at once. */
export function ms(value: string): number {
  return /^\s*0+\s*[mhdw]?\s*$/.test(value) ? 0 : parseWindow(value);
}

/** A duration like 15m, 2h, 7d (minutes at least: rules are evaluated once a minute). */
const duration = (fallback: string, zero = false) =>
  z
    .string()
    .default(fallback)
    .superRefine((value, ctx) => {
      try {
        const length = ms(value);
        if (length % 60_000 !== 0 || (length === 0 && !zero)) throw new UserInputError('whole minutes');
      } catch {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `a duration like 30m, 2h or 7d (whole minutes); got ${JSON.stringify(value)}` });
      }
    });

/** The filters of the tools (exact matches), minus status: a rule decides what it counts itself. */
const filters = z
  .object({
    tool: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    team: z.string().min(1).optional(),
    server: z.string().min(1).optional(),
    client: z.string().min(1).optional(),
    environment: z.string().min(1).optional(),
    via_mcp: z.boolean().optional(),
  })
  .strict()
  .default({});

const common = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/i, 'a name of letters, digits, _ . - (up to 64), starting with a letter or digit'),
  description: z.string().max(500).optional(),
  filters,
  for: duration('0m', true).describe('How long the condition must hold before the alert fires.'),
  channels: z.array(z.string().min(1)).default([]),
  repeat_interval: duration('4h').describe('How often a firing alert is notified again.'),
  enabled: z.boolean().default(true),
};

const positive = z.number().finite().positive();
const count = z.number().int().min(0);

/** Each kind: its parameters, with the defaults a team would start from, and its severity by default. */
export const RULE_SCHEMA = z.discriminatedUnion('kind', [
  z.object({
    ...common,
    kind: z.literal('error_rate'),
    severity: z.enum(SEVERITIES).default('error'),
    window: duration('15m'),
    threshold: z.number().gt(0).lt(1).default(0.2).describe('Failed / all, a fraction (0.2 = 20%).'),
    min_executions: count.default(20),
    group_by: z.enum(['tool', 'server', 'user', 'team']).optional(),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('failures'),
    severity: z.enum(SEVERITIES).default('error'),
    window: duration('15m'),
    threshold: count.default(10).describe('Fires when failures in the window exceed this.'),
    error_type: z.string().min(1).optional(),
    error_layer: z.enum(ERROR_LAYERS).optional(),
    group_by: z.enum(['tool', 'server', 'user', 'team']).optional(),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('volume_spike'),
    severity: z.enum(SEVERITIES).default('warning'),
    measure: z.enum(['executions', 'failures', 'tasks']).default('executions'),
    factor: z.number().finite().gt(1).default(3).describe('Fires when the last hour exceeds factor x its baseline.'),
    min_count: count.default(50).describe('The last hour must count at least this many.'),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('latency_p95'),
    severity: z.enum(SEVERITIES).default('warning'),
    window: duration('15m'),
    threshold_ms: positive,
    min_executions: count.default(20),
    group_by: z.enum(['tool', 'server']).default('tool'),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('budget'),
    severity: z.enum(SEVERITIES).default('warning'),
    measure: z.enum(['tasks', 'cost_usd']).default('tasks'),
    period: z.enum(['day', 'week', 'month']).default('month'),
    limit: positive,
    group_by: z.enum(['user', 'team', 'tool']).default('team'),
    warn_projected: z.boolean().default(true).describe('Also warn when the pace projects past the limit by the period end.'),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('feed_silence'),
    severity: z.enum(SEVERITIES).default('error'),
    silent_for: duration('30m'),
    group_by: z.enum(['source', 'server', 'client', 'environment']).optional(),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('unused_tool'),
    severity: z.enum(SEVERITIES).default('info'),
    days: z.number().int().min(1).max(3650).default(30),
    repeat_interval: duration('7d'),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('unmask_activity'),
    severity: z.enum(SEVERITIES).default('critical'),
    actions: z.array(z.enum(['unmask', 'unmask_denied'])).min(1).default(['unmask', 'unmask_denied']),
    window: duration('24h'),
    threshold: count.default(0).describe('Fires when one admin has more events than this in the window (0: any).'),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('tool_definition_changed'),
    severity: z.enum(SEVERITIES).default('warning'),
    window: duration('1h').describe('How long the alert stays firing after a change.'),
  }).strict(),
  z.object({
    ...common,
    kind: z.literal('export_lag'),
    severity: z.enum(SEVERITIES).default('error'),
    max_events: count.default(10_000).describe('Fires when a sink has more events than this waiting.'),
    max_delay: duration('15m').describe('...or when its oldest waiting event is older than this.'),
  }).strict(),
]);

export type AlertRule = z.output<typeof RULE_SCHEMA>;
export type RuleOf<K extends RuleKind> = Extract<AlertRule, { kind: K }>;

/** The dimension a rule's alerts are grouped by, or none (one alert for the whole rule). */
export function groupBy(rule: AlertRule): string | undefined {
  return 'group_by' in rule ? rule.group_by : undefined;
}

/**
 * Parses a rule from anything (a tool argument, a file entry), with an error that says what to
 * fix: an unknown kind lists the kinds, a wrong type names the field and what it should be.
 */
export function parseRule(input: unknown, where = 'rule'): AlertRule {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new UserInputError(`${where} must be an object with name and kind.`);
  const kind = (input as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(RULE_KINDS as readonly string[]).includes(kind)) {
    throw new UserInputError(`${where}: unknown kind ${JSON.stringify(kind)}; kind is one of ${RULE_KINDS.join(', ')}.`);
  }
  const parsed = RULE_SCHEMA.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.join('.') || '(rule)';
      if (issue.code === 'unrecognized_keys') return `${path}: unknown field(s) ${issue.keys.join(', ')} for kind ${kind}`;
      return `${path}: ${issue.message}`;
    });
    throw new UserInputError(`${where} (${kind}): ${problems.join('; ')}.`);
  }
  return parsed.data;
}

/** What a rule watches, in one line (for lists and notifications). */
export function describeRule(rule: AlertRule): string {
  const scope = [
    ...Object.entries(rule.filters).map(([k, v]) => `${k}=${v}`),
    groupBy(rule) ? `per ${groupBy(rule)}` : '',
  ].filter(Boolean).join(', ');
  const on = scope ? ` (${scope})` : '';
  switch (rule.kind) {
    case 'error_rate':
      return `error rate above ${Math.round(rule.threshold * 1000) / 10}% over ${rule.window}, at least ${rule.min_executions} executions${on}`;
    case 'failures':
      return `more than ${rule.threshold} failures${rule.error_type ? ` of ${rule.error_type}` : ''}${rule.error_layer ? ` in layer ${rule.error_layer}` : ''} over ${rule.window}${on}`;
    case 'volume_spike':
      return `${rule.measure} in the last hour above ${rule.factor}x the baseline (same hour, previous 7 days), at least ${rule.min_count}${on}`;
    case 'latency_p95':
      return `p95 duration above ${rule.threshold_ms} ms over ${rule.window}, at least ${rule.min_executions} executions${on}`;
    case 'budget':
      return `${rule.measure} per ${rule.group_by} per ${rule.period} above ${rule.limit}${rule.warn_projected ? ' (warns on a projected overrun)' : ''}${on}`;
    case 'feed_silence':
      return `no execution for ${rule.silent_for}${on}`;
    case 'unused_tool':
      return `catalog tools with no execution for ${rule.days} days (a digest)${on}`;
    case 'unmask_activity':
      return `more than ${rule.threshold} ${rule.actions.join('/')} event(s) per admin over ${rule.window}`;
    case 'tool_definition_changed':
      return `a server's tool list or a tool's description or input schema changed${on}`;
    case 'export_lag':
      return `an export sink more than ${rule.max_events} events or ${rule.max_delay} behind`;
  }
}

/** Fields every kind shares (listed once in kindReference). */
const COMMON_FIELDS = new Set([...Object.keys(common), 'kind', 'severity']);

/**
 * Each kind's own parameters with their defaults ("required" when there is none), read from the
 * schema itself: what alert_rules shows a model about to write a rule.
 */
export function kindReference(): Record<RuleKind, Record<string, unknown>> {
  const reference = {} as Record<RuleKind, Record<string, unknown>>;
  for (const option of RULE_SCHEMA.options) {
    const kind = option.shape.kind.value as RuleKind;
    const params: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(option.shape as Record<string, z.ZodTypeAny>)) {
      if (COMMON_FIELDS.has(key) && key !== 'severity' && !(key === 'repeat_interval' && kind === 'unused_tool')) continue;
      if (key === 'kind') continue;
      // Severities are listed once, with the common fields; here only each kind's default.
      params[key] = key === 'severity' ? (field as z.ZodDefault<z.ZodTypeAny>)._def.defaultValue() : describeField(field);
    }
    reference[kind] = params;
  }
  return reference;
}

function describeField(field: z.ZodTypeAny): unknown {
  let inner = field;
  let fallback: unknown;
  let optional = false;
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      fallback = inner._def.defaultValue();
      inner = inner._def.innerType;
    } else if (inner instanceof z.ZodOptional) {
      optional = true;
      inner = inner._def.innerType;
    } else if (inner instanceof z.ZodEffects) {
      inner = inner._def.schema;
    } else break;
  }
  const choices = inner instanceof z.ZodEnum ? (inner.options as string[]).join('|') : undefined;
  if (fallback !== undefined) return choices ? `${choices} (default ${JSON.stringify(fallback)})` : fallback;
  if (optional) return choices ? `${choices} (optional)` : 'optional';
  return choices ? `${choices} (required)` : 'required';
}
