import { MAX_AMOUNT, MAX_DURATION_MS, MAX_STEP_INDEX } from './format.js';
import { AUTH_MODES, ERROR_LAYERS, STATUSES, TOOL_KINDS } from '../model.js';

/**
 * The log format, stated once, as data: which fields exist, their kinds, which are required, and
 * in which order they are checked (the first failing rule names the quarantine reason).
 * Everything else is derived from this table: the validator (validate.ts compiles it), the zod
 * schema for readers and tests (schema.ts), the keys that are not kept in `attributes`
 * (KNOWN_KEYS below) and the column types DuckDB reads the staged records with (columns.ts).
 */

/** `json`: any JSON value, stored as it came (payloads). */
export type FieldKind = 'string' | 'timestamp' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'enum' | 'json';

export interface FieldRule {
  /** Dotted name used in reasons (`tool.name`) and, prefixed with `$.`, as the JSON path. */
  name: string;
  kind: FieldKind;
  required?: boolean;
  values?: readonly string[];
  maxLength?: number;
  /** For numbers and integers: the largest value the store holds and aggregates safely. */
  max?: number;
}

const ERROR_RULES = (prefix: string): FieldRule[] => [
  { name: `${prefix}error`, kind: 'object' },
  { name: `${prefix}error.type`, kind: 'string' },
  { name: `${prefix}error.message`, kind: 'string' },
  { name: `${prefix}error.layer`, kind: 'enum', values: ERROR_LAYERS },
];

/** Order matters: the first failing rule names the quarantine reason. */
export const EXECUTION_RULES: FieldRule[] = [
  { name: 'execution_id', kind: 'string', required: true, maxLength: 128 },
  { name: 'started_at', kind: 'timestamp', required: true },
  { name: 'status', kind: 'enum', values: STATUSES, required: true },
  { name: 'tool', kind: 'object' },
  { name: 'tool.name', kind: 'string', required: true },
  { name: 'user', kind: 'object' },
  { name: 'user.id', kind: 'string', required: true },
  { name: 'ended_at', kind: 'timestamp' },
  { name: 'duration_ms', kind: 'number', max: MAX_DURATION_MS },
  { name: 'tool.kind', kind: 'enum', values: TOOL_KINDS },
  { name: 'tool.server', kind: 'string' },
  { name: 'user.email', kind: 'string' },
  { name: 'user.name', kind: 'string' },
  { name: 'user.team', kind: 'string' },
  { name: 'agent', kind: 'object' },
  { name: 'agent.client', kind: 'string' },
  { name: 'agent.session_id', kind: 'string' },
  { name: 'agent.workflow_run_id', kind: 'string' },
  { name: 'environment', kind: 'string' },
  { name: 'via_mcp', kind: 'boolean' },
  { name: 'tasks', kind: 'number', max: MAX_AMOUNT },
  { name: 'cost_usd', kind: 'number', max: MAX_AMOUNT },
  { name: 'input', kind: 'json' },
  { name: 'output', kind: 'json' },
  ...ERROR_RULES(''),
  /** Each item is checked against STEP_RULES. */
  { name: 'steps', kind: 'array' },
];

export const STEP_RULES: FieldRule[] = [
  { name: 'index', kind: 'integer', required: true, max: MAX_STEP_INDEX },
  { name: 'name', kind: 'string', required: true },
  { name: 'status', kind: 'enum', values: STATUSES, required: true },
  { name: 'connector', kind: 'string' },
  { name: 'operation', kind: 'string' },
  { name: 'started_at', kind: 'timestamp' },
  { name: 'ended_at', kind: 'timestamp' },
  { name: 'tasks', kind: 'number', max: MAX_AMOUNT },
  { name: 'auth', kind: 'object' },
  { name: 'auth.mode', kind: 'enum', values: AUTH_MODES },
  { name: 'auth.identity', kind: 'string' },
  { name: 'input', kind: 'json' },
  { name: 'output', kind: 'json' },
  ...ERROR_RULES(''),
];

/**
 * Top-level keys ('') and the keys of each object field the format names, from the rules;
 * anything else is kept in `attributes`.
 */
export const KNOWN_KEYS: Record<string, string[]> = knownKeys(EXECUTION_RULES);

function knownKeys(rules: readonly FieldRule[]): Record<string, string[]> {
  const keys: Record<string, string[]> = { '': [] };
  for (const rule of rules) {
    const at = rule.name.lastIndexOf('.');
    const parent = at === -1 ? '' : rule.name.slice(0, at);
    (keys[parent] ??= []).push(rule.name.slice(at + 1));
    if (rule.kind === 'object') keys[rule.name] ??= [];
  }
  return keys;
}

/** The rules one level below `parent` ('' for the top), each with its own name (the last part). */
export function childRules(rules: readonly FieldRule[], parent: string): FieldRule[] {
  const prefix = parent === '' ? '' : `${parent}.`;
  return rules.filter((r) => r.name.startsWith(prefix) && !r.name.slice(prefix.length).includes('.')).map((r) => ({ ...r, name: r.name.slice(prefix.length) }));
}
