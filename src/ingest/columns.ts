import { childRules, EXECUTION_RULES, STEP_RULES, type FieldKind, type FieldRule } from './rules.js';

/**
 * The types DuckDB's read_json reads the staged records with, derived from the rules: the staged
 * NDJSON is the format's records (validated and normalised) plus the columns ingest adds.
 * Timestamps stay text here and are converted where they are stored; steps are read typed, as a
 * list of structs, which is several times cheaper to unnest than JSON text.
 */
const SCALAR: Partial<Record<FieldKind, string>> = {
  string: 'VARCHAR',
  enum: 'VARCHAR',
  timestamp: 'VARCHAR',
  number: 'DOUBLE',
  integer: 'DOUBLE',
  boolean: 'BOOLEAN',
  json: 'JSON',
};

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function typeOf(rule: FieldRule, rules: readonly FieldRule[], parent: string): string {
  const full = parent === '' ? rule.name : `${parent}.${rule.name}`;
  if (rule.kind === 'object') return `STRUCT(${childRules(rules, full).map((c) => `${quote(c.name)} ${typeOf(c, rules, full)}`).join(', ')})`;
  if (rule.kind === 'array') return STEP_LIST_TYPE;
  return SCALAR[rule.kind]!;
}

/** An execution's steps, typed. */
export const STEP_LIST_TYPE = `STRUCT(${childRules(STEP_RULES, '').map((r) => `${quote(r.name)} ${typeOf(r, STEP_RULES, '')}`).join(', ')})[]`;

/** The columns ingest adds to each staged record (prepare.ts writes them). */
const STAGED_EXTRAS: Record<string, string> = { __line: 'BIGINT', __tasks: 'DOUBLE', __tasks_given: 'BOOLEAN', __attributes: 'JSON' };

/** read_json's `columns` argument: every field of the format, typed, and the staged extras. */
export const READ_COLUMNS = `{${[
  ...Object.entries(STAGED_EXTRAS).map(([name, type]) => `${quote(name)}: '${type}'`),
  ...childRules(EXECUTION_RULES, '').map((r) => `${quote(r.name)}: '${typeOf(r, EXECUTION_RULES, '')}'`),
].join(', ')}}`;
