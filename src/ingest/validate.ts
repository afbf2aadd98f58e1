import { MAX_FUTURE_MS } from './format.js';
import { EXECUTION_RULES, KNOWN_KEYS, STEP_RULES, type FieldRule } from './rules.js';

type Json = Record<string, unknown>;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits at `i` as a number, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * An RFC 3339 timestamp with a zone whose every part is in range (no February 30th, no hour 24):
 * what DuckDB's TIMESTAMPTZ cast accepts, so a record that passes here always stores. Checked by
 * position rather than by regular expression: it runs several times per record.
 */
export function isRfc3339WithZone(s: string): boolean {
  if (s.length < 20) return false;
  const c = two(s, 0);
  const y = two(s, 2);
  if (c < 0 || y < 0 || s[4] !== '-' || s[7] !== '-' || s[13] !== ':' || s[16] !== ':') return false;
  const t = s[10];
  if (t !== 'T' && t !== 't' && t !== ' ') return false;
  const year = c * 100 + y;
  const month = two(s, 5);
  const day = two(s, 8);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return false;
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  let i = 19;
  if (s[i] === '.') {
    i++;
    const digitsStart = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === digitsStart) return false;
  }
  const zone = s[i];
  if (zone === 'Z' || zone === 'z') return i + 1 === s.length;
  if (zone !== '+' && zone !== '-') return false;
  const zh = two(s, i + 1);
  const zm = two(s, i + 4);
  return i + 6 === s.length && s[i + 3] === ':' && zh >= 0 && zh <= 23 && zm >= 0 && zm <= 59;
}

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
