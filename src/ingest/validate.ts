import { isRfc3339WithZone, MAX_FUTURE_MS } from './format.js';
import { EXECUTION_RULES, KNOWN_KEYS, STEP_RULES, type FieldRule } from './rules.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function valid(rule: FieldRule, v: unknown): boolean {
  switch (rule.kind) {
    case 'string':
      return typeof v === 'string' && (rule.maxLength === undefined || (v.length >= 1 && v.length <= rule.maxLength));
    case 'enum':
      return typeof v === 'string' && rule.values!.includes(v);
    case 'timestamp':
      return typeof v === 'string' && isRfc3339WithZone(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && v >= 0;
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0;
    case 'boolean':
      return typeof v === 'boolean';
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
  }
}

const PATHS = new Map<FieldRule, string[]>();
const pathOf = (rule: FieldRule): string[] => {
  let path = PATHS.get(rule);
  if (!path) PATHS.set(rule, (path = rule.name.split('.')));
  return path;
};

function get(obj: Json, path: string[]): unknown {
  let v: unknown = obj;
  for (const key of path) {
    if (!isObject(v)) return undefined;
    v = v[key];
  }
  return v;
}

function firstReason(obj: Json, rules: FieldRule[], label: (name: string) => string): string | null {
  for (const rule of rules) {
    const v = get(obj, pathOf(rule));
    if (v === undefined || v === null) {
      if (rule.required) return `missing_field:${label(rule.name)}`;
      continue;
    }
    if (!valid(rule, v)) return `invalid_value:${label(rule.name)}`;
  }
  return null;
}

/**
 * The quarantine reason for a parsed line, or null when it is a valid execution record:
 * `invalid_value:record`, `missing_field:<f>`, `invalid_value:<f>` (steps as `steps[i].<f>`),
 * `too_far_in_future`. The first failing rule of rules.ts wins.
 */
export function recordReason(value: unknown, now: Date): string | null {
  if (!isObject(value)) return 'invalid_value:record';
  const reason = firstReason(value, EXECUTION_RULES, (name) => name);
  if (reason) return reason;
  const steps = value.steps;
  if (Array.isArray(steps)) {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (!isObject(step)) return `invalid_value:steps[${i}]`;
      const stepReason = firstReason(step, STEP_RULES, (name) => `steps[${i}].${name}`);
      if (stepReason) return stepReason;
    }
  }
  // Date.parse only for records dated after yesterday: the rest cannot be 24 hours ahead.
  const started = value.started_at as string;
  if (started.slice(0, 10) >= isoDay(now.getTime() - 2 * 86_400_000) && Date.parse(started) > now.getTime() + MAX_FUTURE_MS) {
    return 'too_far_in_future';
  }
  return null;
}

let cachedDay = { at: NaN, day: '' };
function isoDay(ms: number): string {
  const key = Math.floor(ms / 86_400_000);
  if (cachedDay.at !== key) cachedDay = { at: key, day: new Date(ms).toISOString().slice(0, 10) };
  return cachedDay.day;
}

/** The cost in tasks: as given, else the sum of the steps (1 each without) for a workflow, else 1. */
export function tasksOf(record: Json): number {
  if (typeof record.tasks === 'number') return record.tasks;
  const kind = isObject(record.tool) ? record.tool.kind : undefined;
  if (kind === 'workflow' && Array.isArray(record.steps) && record.steps.length > 0) {
    return record.steps.reduce((sum: number, s) => sum + (isObject(s) && typeof s.tasks === 'number' ? s.tasks : 1), 0);
  }
  return 1;
}

const KNOWN = Object.fromEntries(Object.entries(KNOWN_KEYS).map(([k, v]) => [k, new Set(v)]));

/** Fields the format does not name (nested ones as `tool.x`), or null when there are none. */
export function unknownFields(record: Json): Json | null {
  let out: Json | null = null;
  for (const key of Object.keys(record)) {
    if (!KNOWN['']!.has(key)) (out ??= {})[key] = record[key];
  }
  for (const parent of ['tool', 'user', 'agent', 'error']) {
    const nested = record[parent];
    if (!isObject(nested)) continue;
    for (const key of Object.keys(nested)) {
      if (!KNOWN[parent]!.has(key)) (out ??= {})[`${parent}.${key}`] = nested[key];
    }
  }
  return out;
}
