import { isRfc3339WithZone, MAX_FUTURE_MS } from './format.js';
import { EXECUTION_RULES, KNOWN_KEYS, STEP_RULES, type FieldRule } from './rules.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

type Check = (record: Json, prefix: string) => string | null;

function kindTest(rule: FieldRule): string {
  switch (rule.kind) {
    case 'string':
      return rule.maxLength === undefined
        ? `typeof v === 'string'`
        : `typeof v === 'string' && v.length >= 1 && v.length <= ${rule.maxLength}`;
    case 'enum':
      return `(${rule.values!.map((x) => `v === ${JSON.stringify(x)}`).join(' || ')})`;
    case 'timestamp':
      return `typeof v === 'string' && isTimestamp(v)`;
    case 'number':
      return `typeof v === 'number' && Number.isFinite(v) && v >= 0${rule.max === undefined ? '' : ` && v <= ${rule.max}`}`;
    case 'integer':
      return `typeof v === 'number' && Number.isInteger(v) && v >= 0${rule.max === undefined ? '' : ` && v <= ${rule.max}`}`;
    case 'boolean':
      return `typeof v === 'boolean'`;
    case 'object':
      return `typeof v === 'object' && !Array.isArray(v)`;
    case 'array':
      return `Array.isArray(v)`;
    case 'json':
      return 'true';
  }
}

/**
 * The rules compiled into one function per rule list (the approach of JSON-schema validators such
 * as ajv): each field is read by direct property access and checked by its kind's test inline.
 * Interpreting the rules generically (a path walk and a switch per field) cost several times as
 * much, on the thread that also feeds DuckDB and answers MCP calls. Only rule data from rules.ts
 * reaches the generated source, and every name is JSON-quoted.
 */
function compile(rules: FieldRule[]): Check {
  const body = rules.map((rule) => {
    const [head, ...rest] = rule.name.split('.');
    let read = `v = o[${JSON.stringify(head)}];`;
    // A nested field of a parent that is not an object is missing (the parent's own rule, earlier
    // in the list, reports a parent of the wrong type).
    for (const key of rest) read += ` v = v !== null && typeof v === 'object' && !Array.isArray(v) ? v[${JSON.stringify(key)}] : undefined;`;
    const name = JSON.stringify(rule.name);
    const missing = rule.required ? `return 'missing_field:' + prefix + ${name};` : '';
    return `${read}\n  if (v === undefined || v === null) { ${missing} } else if (!(${kindTest(rule)})) return 'invalid_value:' + prefix + ${name};`;
  });
  const source = `let v;\n  ${body.join('\n  ')}\n  return null;`;
  return new Function('isTimestamp', `return function check(o, prefix) {\n  ${source}\n};`)(isRfc3339WithZone) as Check;
}

const checkExecution = compile(EXECUTION_RULES);
const checkStep = compile(STEP_RULES);

/**
 * The quarantine reason for a parsed line, or null when it is a valid execution record: every
 * problem of the line, each as its code (`invalid_value:record`, `missing_field:<f>`,
 * `invalid_value:<f>` with steps as `steps[i].<f>`, `too_far_in_future`) and what was expected,
 * joined by " | ". The first code names the line's group in counts (reasonCode). The fast check
 * runs on every line; only a line that fails it is described.
 */
export function recordReason(value: unknown, now: Date): string | null {
  return firstProblem(value, now) === null ? null : describeProblems(value, now).join(' | ');
}


function firstProblem(value: unknown, now: Date): string | null {
  if (!isObject(value)) return 'invalid_value:record';
  const reason = checkExecution(value, '');
  if (reason) return reason;
  const steps = value.steps;
  if (Array.isArray(steps)) {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (!isObject(step)) return `invalid_value:steps[${i}]`;
      const stepReason = checkStep(step, `steps[${i}].`);
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

/** What a rule's kind expects, said for a person reading the quarantine. */
function expected(rule: FieldRule): string {
  switch (rule.kind) {
    case 'string':
      return rule.maxLength === undefined ? 'a string' : `a string of 1 to ${rule.maxLength} characters`;
    case 'enum':
      return `one of ${rule.values!.join(', ')}`;
    case 'timestamp':
      return 'an RFC 3339 timestamp with a zone, like 2026-11-02T09:14:03Z';
    case 'number':
      return rule.max === undefined ? 'a number >= 0' : `a number from 0 to ${rule.max}`;
    case 'integer':
      return rule.max === undefined ? 'a whole number >= 0' : `a whole number from 0 to ${rule.max}`;
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'json':
      return 'any JSON value';
  }
}

/** A value as it was given, short enough for a reason. */
function shown(value: unknown): string {
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const readPath = (record: Json, name: string): { value: unknown; parentOk: boolean } => {
  let v: unknown = record;
  for (const key of name.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { value: undefined, parentOk: false };
    v = (v as Json)[key];
  }
  return { value: v, parentOk: true };
};

function ruleProblems(record: Json, rules: FieldRule[], prefix: string): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    const { value, parentOk } = readPath(record, rule.name);
    if (!parentOk) continue; // the parent's own rule reports a parent of the wrong type
    if (value === undefined || value === null) {
      if (rule.required) problems.push(`missing_field:${prefix}${rule.name} (expected ${expected(rule)})`);
      continue;
    }
    if (!singleRuleOk(rule, value)) {
      problems.push(`invalid_value:${prefix}${rule.name} (expected ${expected(rule)}; got ${shown(value)})`);
    }
  }
  return problems;
}

/** Every problem of a record that the fast check refused, in the order of the rules. */
export function describeProblems(value: unknown, now: Date): string[] {
  if (!isObject(value)) return [`invalid_value:record (expected a JSON object; got ${shown(value)})`];
  const problems = ruleProblems(value, EXECUTION_RULES, '');
  const steps = value.steps;
  if (Array.isArray(steps)) {
    steps.forEach((step, i) => {
      if (!isObject(step)) problems.push(`invalid_value:steps[${i}] (expected an object; got ${shown(step)})`);
      else problems.push(...ruleProblems(step, STEP_RULES, `steps[${i}].`));
    });
  }
  if (problems.length === 0) {
    const reason = firstProblem(value, now);
    if (reason === 'too_far_in_future') problems.push(`too_far_in_future (expected started_at at most 24 hours after now, ${now.toISOString()}; got ${shown(value.started_at)})`);
    else if (reason) problems.push(reason);
  }
  return problems;
}

const singleRuleChecks = new Map<FieldRule, Check>();
/** A rule's kind test alone (compiled once per rule, like the fast path). */
function singleRuleOk(rule: FieldRule, value: unknown): boolean {
  let check = singleRuleChecks.get(rule);
  if (!check) {
    check = compile([{ ...rule, name: 'v', required: false }]);
    singleRuleChecks.set(rule, check);
  }
  return check({ v: value } as Json, '') === null;
}

let cachedDay = { at: NaN, day: '' };
function isoDay(ms: number): string {
  const key = Math.floor(ms / 86_400_000);
  if (cachedDay.at !== key) cachedDay = { at: key, day: new Date(ms).toISOString().slice(0, 10) };
  return cachedDay.day;
}

/**
 * Whether the record states its cost: its own tasks, or a workflow whose every step states its
 * tasks. Otherwise tasksOf falls back to the default (1 per call or step), and a cost answer says
 * how much of its total is that default.
 */
export function tasksGiven(record: Json): boolean {
  if (typeof record.tasks === 'number') return true;
  const kind = isObject(record.tool) ? record.tool.kind : undefined;
  return kind === 'workflow' && Array.isArray(record.steps) && record.steps.length > 0 && record.steps.every((s) => isObject(s) && typeof s.tasks === 'number');
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
const OBJECT_FIELDS = Object.keys(KNOWN_KEYS).filter((k) => k !== '');

/** Fields the format does not name (nested ones as `tool.x`), or null when there are none. */
export function unknownFields(record: Json): Json | null {
  let out: Json | null = null;
  for (const key of Object.keys(record)) {
    if (!KNOWN['']!.has(key)) (out ??= {})[key] = record[key];
  }
  for (const parent of OBJECT_FIELDS) {
    const nested = record[parent];
    if (!isObject(nested)) continue;
    for (const key of Object.keys(nested)) {
      if (!KNOWN[parent]!.has(key)) (out ??= {})[`${parent}.${key}`] = nested[key];
    }
  }
  return out;
}
