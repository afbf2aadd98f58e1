import {
  AUTH_MODES,
  ERROR_LAYERS,
  QUARANTINE_RAW_CAP,
  RFC3339_WITH_ZONE_PATTERN,
  STATUSES,
  TERMINAL_STATUSES,
  TOOL_KINDS,
} from './format.js';

/**
 * Bulk validation of the log format in SQL. Raw lines are staged as text (`staged_lines`) and this
 * query turns each one into either a canonical record or a quarantine reason, in one pass of
 * DuckDB's vectorised JSON functions: per-line JavaScript would cap ingest at a quarter of the
 * speed (shared/facts.md). The zod schema in format.ts states the same contract; the conformance
 * test keeps the two in agreement.
 */

type FieldKind = 'string' | 'timestamp' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'enum';

interface FieldRule {
  /** Dotted name used in reasons (`tool.name`) and, prefixed with `$.`, as the JSON path. */
  name: string;
  kind: FieldKind;
  required?: boolean;
  values?: readonly string[];
  maxLength?: number;
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
  { name: 'duration_ms', kind: 'number' },
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
  { name: 'tasks', kind: 'number' },
  { name: 'cost_usd', kind: 'number' },
  ...ERROR_RULES(''),
  { name: 'steps', kind: 'array' },
];

export const STEP_RULES: FieldRule[] = [
  { name: 'index', kind: 'integer', required: true },
  { name: 'name', kind: 'string', required: true },
  { name: 'status', kind: 'enum', values: STATUSES, required: true },
  { name: 'connector', kind: 'string' },
  { name: 'operation', kind: 'string' },
  { name: 'started_at', kind: 'timestamp' },
  { name: 'ended_at', kind: 'timestamp' },
  { name: 'tasks', kind: 'number' },
  { name: 'auth', kind: 'object' },
  { name: 'auth.mode', kind: 'enum', values: AUTH_MODES },
  { name: 'auth.identity', kind: 'string' },
  ...ERROR_RULES(''),
];

/** Top-level and nested keys the format names; anything else is kept in `attributes`. */
const KNOWN_KEYS: Record<string, string[]> = {
  '': [
    'execution_id', 'started_at', 'ended_at', 'duration_ms', 'status', 'tool', 'user', 'agent',
    'environment', 'via_mcp', 'tasks', 'cost_usd', 'input', 'output', 'error', 'steps',
  ],
  tool: ['name', 'kind', 'server'],
  user: ['id', 'email', 'name', 'team'],
  agent: ['client', 'session_id', 'workflow_run_id'],
  error: ['type', 'message', 'layer'],
};

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const sqlList = (items: readonly string[]): string => `[${items.map(sqlString).join(', ')}]`;
const jsonPath = (name: string): string => `$.${name.split('.').map((p) => `"${p}"`).join('.')}`;

const NUMERIC_TYPES = "('UBIGINT', 'BIGINT', 'DOUBLE')";

/** A SQL expression that is true when the value (type `t`, text `s`) obeys the rule. */
function validExpr(rule: FieldRule, t: string, s: string): string {
  switch (rule.kind) {
    case 'string':
      return rule.maxLength
        ? `(${t} = 'VARCHAR' AND length(${s}) BETWEEN 1 AND ${rule.maxLength})`
        : `${t} = 'VARCHAR'`;
    case 'enum':
      return `(${t} = 'VARCHAR' AND ${s} IN (${rule.values!.map(sqlString).join(', ')}))`;
    case 'timestamp':
      return `(${t} = 'VARCHAR' AND regexp_full_match(${s}, ${sqlString(RFC3339_WITH_ZONE_PATTERN)}) AND try_cast(${s} AS TIMESTAMPTZ) IS NOT NULL)`;
    case 'number':
      return `(${t} IN ${NUMERIC_TYPES} AND CAST(${s} AS DOUBLE) >= 0)`;
    case 'integer':
      return `(${t} IN ${NUMERIC_TYPES} AND CAST(${s} AS DOUBLE) >= 0 AND CAST(${s} AS DOUBLE) = floor(CAST(${s} AS DOUBLE)))`;
    case 'boolean':
      return `${t} = 'BOOLEAN'`;
    case 'object':
      return `${t} = 'OBJECT'`;
    case 'array':
      return `${t} = 'ARRAY'`;
  }
}

/**
 * The first reason among `rules`, where `types` and `texts` are lists holding json_type and
 * json_extract_string of each rule's path in order, from position `offset + 1` (one JSON parse
 * for all of them).
 */
function firstReasonExpr(
  rules: FieldRule[],
  types: string,
  texts: string,
  label: (name: string) => string,
  offset = 0,
): string {
  const arms = rules.map((rule, i) => {
    const t = `${types}[${i + 1 + offset}]`;
    const s = `${texts}[${i + 1 + offset}]`;
    const absent = `(${t} IS NULL OR ${t} = 'NULL')`;
    const missing = rule.required ? `WHEN ${absent} THEN 'missing_field:' || ${label(rule.name)}` : `WHEN ${absent} THEN NULL`;
    return `CASE ${missing} WHEN NOT ${validExpr(rule, t, s)} THEN 'invalid_value:' || ${label(rule.name)} END`;
  });
  return `coalesce(${arms.join(',\n      ')})`;
}

const pathList = (rules: FieldRule[]): string => sqlList(rules.map((r) => jsonPath(r.name)));
const idx = (rules: FieldRule[], name: string): number => rules.findIndex((r) => r.name === name) + 1;

const num = (text: string): string => `try_cast(${text} AS DOUBLE)`;

/**
 * `attributes`: a JSON object of every key the format does not name (nested ones as `tool.x`).
 * Nested objects are read from their already-extracted text, so this costs one more parse of the
 * record (its root keys), not five.
 */
function unknownKeysExpr(text: (name: string) => string): string {
  const keysOf = (parent: string): string => (parent === '' ? 'json_keys(j)' : `coalesce(json_keys(${text(parent)}), [])`);
  const knownList = (known: string[]): string => sqlList(known);
  const anyUnknown = Object.entries(KNOWN_KEYS)
    .map(([parent, known]) => `NOT list_has_all(${knownList(known)}, ${keysOf(parent)})`)
    .join(' OR ');
  const parts = Object.entries(KNOWN_KEYS).map(([parent, known]) => {
    const source = parent === '' ? 'j' : text(parent);
    const prefix = parent === '' ? '' : `${parent}.`;
    return `[{'k': ${sqlString(prefix)} || k, 'v': json_extract(${source}, '$."' || replace(k, '"', '\\"') || '"')} for k in ${keysOf(parent)} if NOT list_contains(${knownList(known)}, k)]`;
  });
  // The comprehension is costly; most records have no unknown key, so test that first.
  return `CASE WHEN ${anyUnknown} THEN list_concat(${parts.join(',\n    ')}) END`;
}

/**
 * SELECT over `staged_lines(line_no, raw, pre_reason)` giving one row per line: `reason` is NULL
 * for a valid record (then the canonical columns are filled) or the quarantine reason. Every CTE
 * is used once, so DuckDB streams the whole pass in parallel without materialising raw lines.
 * Steps are checked afterwards by STEP_CHECK_SQL (they need a pass of their own).
 * `$now` (TIMESTAMP, UTC) bounds how far in the future a record may start.
 */
export function validationQuery(): string {
  // Position 1 of the lists is the root ('$'); the payloads ride along so one parse serves all.
  const exec: FieldRule[] = [...EXECUTION_RULES];
  const paths = sqlList(['$', ...exec.map((r) => jsonPath(r.name)), '$.input', '$.output']);
  const at = (name: string): number => idx(exec, name) + 1;
  const s = (name: string): string => `ss[${at(name)}]`;
  const inputAt = exec.length + 2;
  const payload = (i: number): string =>
    `CASE WHEN tt[${i}] = 'VARCHAR' THEN to_json(ss[${i}]) WHEN tt[${i}] <> 'NULL' THEN ss[${i}]::JSON END`;
  const execReason = firstReasonExpr(exec, 'tt', 'ss', (name) => sqlString(name), 1);
  return `
WITH parsed AS (
  SELECT line_no, raw, pre_reason,
         CASE WHEN pre_reason IS NULL AND json_valid(raw) THEN raw END AS j
  FROM staged_lines
),
typed AS (
  SELECT line_no, raw, pre_reason, j, json_type(j, ${paths}) AS tt, json_extract_string(j, ${paths}) AS ss
  FROM parsed
),
checked AS (
  SELECT *,
    timezone('UTC', try_cast(${s('started_at')} AS TIMESTAMPTZ)) AS started_utc,
    timezone('UTC', try_cast(${s('ended_at')} AS TIMESTAMPTZ)) AS ended_utc,
    coalesce(
      pre_reason,
      CASE WHEN j IS NULL THEN 'invalid_json' END,
      CASE WHEN tt[1] <> 'OBJECT' THEN 'invalid_value:record' END,
      ${execReason}
    ) AS field_reason
  FROM typed
)
SELECT
  line_no,
  coalesce(field_reason, CASE WHEN started_utc > CAST($now AS TIMESTAMP) + INTERVAL 24 HOUR THEN 'too_far_in_future' END) AS reason,
  CASE WHEN field_reason IS NOT NULL OR started_utc > CAST($now AS TIMESTAMP) + INTERVAL 24 HOUR THEN left(raw, ${QUARANTINE_RAW_CAP}) END AS raw,
  ${s('execution_id')} AS execution_id,
  started_utc AS started_at,
  ended_utc AS ended_at,
  coalesce(${num(s('duration_ms'))},
           CASE WHEN ended_utc >= started_utc
                THEN CAST(epoch_ms(ended_utc) - epoch_ms(started_utc) AS DOUBLE) END) AS duration_ms,
  ${s('status')} AS status,
  ${s('status')} IN (${TERMINAL_STATUSES.map(sqlString).join(', ')}) AS is_terminal,
  ${s('tool.name')} AS tool_name,
  coalesce(${s('tool.kind')}, 'connector') AS tool_kind,
  ${s('tool.server')} AS tool_server,
  ${s('user.id')} AS user_id,
  ${s('user.email')} AS user_email,
  ${s('user.name')} AS user_name,
  ${s('user.team')} AS user_team,
  ${s('agent.client')} AS agent_client,
  ${s('agent.session_id')} AS agent_session_id,
  ${s('agent.workflow_run_id')} AS agent_workflow_run_id,
  ${s('environment')} AS environment,
  coalesce(try_cast(${s('via_mcp')} AS BOOLEAN), true) AS via_mcp,
  coalesce(${num(s('tasks'))}, 1) AS tasks,
  ${num(s('tasks'))} IS NOT NULL AS tasks_given,
  ${num(s('cost_usd'))} AS cost_usd,
  ${payload(inputAt)} AS input,
  ${payload(inputAt + 1)} AS output,
  ${s('error.type')} AS error_type,
  ${s('error.message')} AS error_message,
  ${s('error.layer')} AS error_layer,
  CASE WHEN field_reason IS NULL THEN to_json(map_from_entries(${unknownKeysExpr(s)})) END AS attributes,
  CASE WHEN tt[${at('steps')}] = 'ARRAY' THEN json_extract(${s('steps')}, '$[*]') END AS step_list,
  0 AS step_count
FROM checked`;
}

/**
 * The step pass over `batch_records`: the first invalid step names the line's reason (it ranks
 * before too_far_in_future, as in the zod schema), and a workflow without its own `tasks` costs
 * the sum of its steps (1 for a step without tasks).
 */
export function stepCheckSql(): string[] {
  const steps = STEP_RULES;
  const stepReason = firstReasonExpr(steps, 'tt', 'ss', (name) => `'steps[' || i || '].${name}'`);
  return [
    `
UPDATE batch_records AS b SET
  reason = coalesce(c.step_reason, b.reason),
  tasks = CASE WHEN NOT b.tasks_given AND b.tool_kind = 'workflow' THEN c.step_tasks ELSE b.tasks END,
  step_count = c.steps
FROM (
  SELECT line_no,
         arg_min(reason, i) FILTER (reason IS NOT NULL) AS step_reason,
         sum(coalesce(try_cast(ss[${idx(steps, 'tasks')}] AS DOUBLE), 1)) AS step_tasks,
         count(*)::INTEGER AS steps
  FROM (
    SELECT line_no, i, ss,
           CASE WHEN root <> 'OBJECT' THEN 'invalid_value:steps[' || i || ']' ELSE ${stepReason} END AS reason
    FROM (
      SELECT line_no, i, json_type(x) AS root, json_type(x, ${pathList(steps)}) AS tt, json_extract_string(x, ${pathList(steps)}) AS ss
      FROM (SELECT line_no, unnest(range(len(step_list))) AS i, unnest(step_list) AS x
            FROM batch_records WHERE (reason IS NULL OR reason = 'too_far_in_future') AND len(step_list) > 0)))
  GROUP BY line_no
) AS c
WHERE b.line_no = c.line_no`,
    // Lines rejected for a step still need their raw text for the quarantine.
    `UPDATE batch_records AS b SET raw = left(s.raw, ${QUARANTINE_RAW_CAP})
     FROM staged_lines s WHERE s.line_no = b.line_no AND b.reason IS NOT NULL AND b.raw IS NULL`,
  ];
}
