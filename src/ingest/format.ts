import { z } from 'zod';

/**
 * The execution log format, version 1 (shared/log-format.md). This zod schema is the readable
 * statement of the contract: the README and the tests are checked against it. Bulk ingest does not
 * run it per line (that is too slow); it validates in SQL (validate-sql.ts), and a conformance test
 * asserts that both agree on valid records and on every kind of invalid one.
 */

export const STATUSES = ['running', 'succeeded', 'failed', 'stopped', 'terminated'] as const;
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'stopped', 'terminated'] as const;
export const TOOL_KINDS = ['connector', 'workflow'] as const;
export const ERROR_LAYERS = ['llm', 'tool', 'connector', 'auth', 'platform'] as const;
export const AUTH_MODES = ['user', 'service', 'none'] as const;

export type Status = (typeof STATUSES)[number];
export type ToolKind = (typeof TOOL_KINDS)[number];
export type ErrorLayer = (typeof ERROR_LAYERS)[number];

/** Lines longer than this are quarantined as `line_too_long` without being parsed. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** How much of a quarantined line is kept for a human to look at. */
export const QUARANTINE_RAW_CAP = 8192;
/** A record that starts further than this in the future is quarantined. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

export const RFC3339_WITH_ZONE_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$';

const timestamp = z
  .string()
  .regex(new RegExp(RFC3339_WITH_ZONE_PATTERN), 'RFC 3339 timestamp with zone')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'not a real date');
const nonNegative = z.number().min(0);
const optionalString = z.string().nullish();

const errorSchema = z
  .object({
    type: optionalString,
    message: optionalString,
    layer: z.enum(ERROR_LAYERS).nullish(),
  })
  .passthrough();

export const stepSchema = z
  .object({
    index: z.number().int().min(0),
    name: z.string(),
    connector: optionalString,
    operation: optionalString,
    status: z.enum(STATUSES),
    started_at: timestamp.nullish(),
    ended_at: timestamp.nullish(),
    tasks: nonNegative.nullish(),
    auth: z
      .object({ mode: z.enum(AUTH_MODES).nullish(), identity: optionalString })
      .passthrough()
      .nullish(),
    input: z.unknown().optional(),
    output: z.unknown().optional(),
    error: errorSchema.nullish(),
  })
  .passthrough();

export const executionSchema = z
  .object({
    execution_id: z.string().min(1).max(128),
    started_at: timestamp,
    ended_at: timestamp.nullish(),
    duration_ms: nonNegative.nullish(),
    status: z.enum(STATUSES),
    tool: z
      .object({ name: z.string(), kind: z.enum(TOOL_KINDS).nullish(), server: optionalString })
      .passthrough(),
    user: z
      .object({ id: z.string(), email: optionalString, name: optionalString, team: optionalString })
      .passthrough(),
    agent: z
      .object({
        client: optionalString,
        session_id: optionalString,
        workflow_run_id: optionalString,
      })
      .passthrough()
      .nullish(),
    environment: optionalString,
    via_mcp: z.boolean().nullish(),
    tasks: nonNegative.nullish(),
    cost_usd: nonNegative.nullish(),
    input: z.unknown().optional(),
    output: z.unknown().optional(),
    error: errorSchema.nullish(),
    steps: z.array(stepSchema).nullish(),
  })
  .passthrough();

export type ExecutionRecord = z.infer<typeof executionSchema>;
export type StepRecord = z.infer<typeof stepSchema>;
