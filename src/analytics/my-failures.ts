import type { AnalyticsBackend } from './backend.js';
import { byteOrder } from './order.js';
import { describeRange, type TimeRange } from './time-range.js';

/** Statuses that ended a call badly, for the one who made it. */
export const BAD_STATUSES = `('failed', 'stopped', 'terminated')`;

export type Verdict = 'only you' | 'everyone' | 'mixed';

/** The same tool across the fleet in the window, the caller's own calls left out. */
export interface FleetOfTool {
  tool: string;
  server: string | null;
  /** Executions of the tool by other users, and how many of them failed or were terminated. */
  others_executions: number;
  others_failures: number;
  /** Distinct other users with a failure, and with a success. */
  others_users_failed: number;
  others_users_succeeded: number;
  /** Failures by anyone, the first of them in the window, and the most frequent error type and failing connector. */
  failures: number;
  users_affected: number;
  first_failure_at: string | null;
  dominant_error_type: string | null;
  dominant_connector: string | null;
}

export interface MyFailure {
  execution_id: string;
  started_at: string;
  status: string;
  tool: string;
  server: string | null;
  client: string | null;
  error: { type: string | null; layer: string | null; message: string | null };
  /** The first failing step, its connector and whose credentials it ran with (null for a call without steps). */
  failing_step: { index: number; name: string; connector: string | null; auth_mode: string | null; auth_identity: string | null } | null;
  fleet: FleetOfTool;
  verdict: Verdict;
  /** Why the verdict, in one line a person or an agent can act on. */
  verdict_explained: string;
  /** The calls to make next, with their arguments. */
  next: Array<{ tool: string; arguments: Record<string, unknown> }>;
}

export interface MyFailuresResult {
  window: { from: string; to: string };
  user: string;
  total_bad: number;
  failures: MyFailure[];
}

/** Error layers and types that point at the caller rather than at the tool. */
const CALLER_SPECIFIC = /auth|forbidden|unauthori[sz]ed|permission|credential|token|invalid_?(input|param|arg)|jsonrpc_-32602|validation|quota|rate_?limit/i;

/**
 * The caller's own failed, stopped and terminated executions, newest first, each set against the
 * same tool across the fleet in the window: is it only the caller, everyone, or mixed?
 *
 * - everyone: at least two other users failed on the tool, and they failed more often than not;
 * - only you: no other user failed on it (others may have succeeded, or nobody else called it);
 * - mixed: anything in between.
 */
/** A bad execution of the caller's, as the engines return it. */
export type MineRow = Omit<MyFailure, 'fleet' | 'verdict' | 'verdict_explained' | 'next' | 'failing_step' | 'error'> & {
  error_type: string | null;
  error_layer: string | null;
  error_message: string | null;
};

export type FailingStep = NonNullable<MyFailure['failing_step']> & { execution_id: string };

export interface MyFailuresQueries {
  /** The user's failed, stopped and terminated executions of the range (of `tool` when given), newest first (ties: greater id first), and how many in all. */
  mine(range: TimeRange, user: string, tool: string | undefined, limit: number): Promise<{ rows: MineRow[]; total: number }>;
  /** The first failed or terminated step of each execution that has one. */
  failingSteps(executionIds: string[]): Promise<FailingStep[]>;
  /**
   * The tools across the fleet in the range: counts as FleetOfTool's, the server of the tool's
   * latest execution (ties: greatest id), and every error type and failing connector of its
   * failures with their counts (dominant_* are picked from those).
   */
  fleet(range: TimeRange, user: string, tools: string[]): Promise<{
    stats: Array<Omit<FleetOfTool, 'dominant_error_type' | 'dominant_connector'>>;
    errorTypes: Array<{ tool: string; value: string; n: number }>;
    connectors: Array<{ tool: string; value: string; n: number }>;
  }>;
}

/** The most frequent value of each tool (ties: the first in byte order), as DuckDB's mode() but decided. */
function dominant(rows: Array<{ tool: string; value: string; n: number }>): Map<string, string> {
  const best = new Map<string, { value: string; n: number }>();
  for (const r of rows) {
    const held = best.get(r.tool);
    if (!held || r.n > held.n || (r.n === held.n && byteOrder(r.value, held.value) < 0)) best.set(r.tool, r);
  }
  return new Map([...best].map(([tool, b]) => [tool, b.value]));
}

/**
 * The caller's own failed, stopped and terminated executions, newest first, each set against the
 * same tool across the fleet in the window: is it only the caller, everyone, or mixed?
 *
 * - everyone: at least two other users failed on the tool, and they failed more often than not;
 * - only you: no other user failed on it (others may have succeeded, or nobody else called it);
 * - mixed: anything in between.
 */
export async function myFailures(backend: AnalyticsBackend, args: { range: TimeRange; user: string; tool?: string; limit: number }): Promise<MyFailuresResult> {
  const q = backend.myFailures;
  const { rows: mine, total } = await q.mine(args.range, args.user, args.tool, args.limit);
  if (mine.length === 0) return { window: describeRange(args.range), user: args.user, total_bad: total, failures: [] };

  const tools = [...new Set(mine.map((m) => m.tool))];
  const [steps, fleet] = await Promise.all([q.failingSteps(mine.map((m) => m.execution_id)), q.fleet(args.range, args.user, tools)]);
  const stepOf = new Map(steps.map(({ execution_id, ...s }) => [execution_id, s]));
  const errorTypes = dominant(fleet.errorTypes);
  const connectors = dominant(fleet.connectors);
  const fleetOf = new Map(fleet.stats.map((f) => [f.tool, { ...f, dominant_error_type: errorTypes.get(f.tool) ?? null, dominant_connector: connectors.get(f.tool) ?? null }]));
  const window = describeRange(args.range);

  return {
    window,
    user: args.user,
    total_bad: total,
    failures: mine.map(({ error_type, error_layer, error_message, ...m }) => {
      const f = fleetOf.get(m.tool)!;
      const { verdict, explained } = judge(m, { type: error_type, layer: error_layer }, f);
      return {
        ...m,
        error: { type: error_type, layer: error_layer, message: error_message },
        failing_step: stepOf.get(m.execution_id) ?? null,
        fleet: f,
        verdict,
        verdict_explained: explained,
        next: [
          { tool: 'trace_execution', arguments: { execution_id: m.execution_id } },
          ...(verdict === 'only you'
            ? [{ tool: 'list_executions', arguments: { user: 'me', tool: m.tool, window: '7d' } }]
            : [{ tool: 'failure_report', arguments: { tool: m.tool, from: f.first_failure_at ?? window.from, to: window.to } }, { tool: 'who_drove_spike', arguments: { tool: m.tool, status: 'failed', from: window.from, to: window.to } }]),
        ],
      };
    }),
  };
}

function judge(call: { status: string; tool: string }, error: { type: string | null; layer: string | null }, fleet: FleetOfTool): { verdict: Verdict; explained: string } {
  const what = [error.type, error.layer && `at the ${error.layer} layer`].filter(Boolean).join(' ') || call.status;
  if (fleet.others_failures === 0) {
    const cause = error.layer === 'auth' || CALLER_SPECIFIC.test(error.type ?? '')
      ? ' The error points at your call: your credentials, your input or your quota.'
      : '';
    const others = fleet.others_executions > 0
      ? `${fleet.others_users_succeeded} other user(s) ran ${call.tool} without a failure in the window`
      : `nobody else called ${call.tool} in the window, so the fleet cannot tell`;
    return { verdict: 'only you', explained: `Only you: ${others}; yours ended ${what}.${cause}` };
  }
  const otherRate = fleet.others_failures / Math.max(1, fleet.others_executions);
  const where = fleet.dominant_connector ? ` (mostly ${fleet.dominant_error_type ?? 'errors'} at ${fleet.dominant_connector})` : fleet.dominant_error_type ? ` (mostly ${fleet.dominant_error_type})` : '';
  if (fleet.others_users_failed >= 2 && otherRate > 0.5) {
    return {
      verdict: 'everyone',
      explained: `Everyone: ${call.tool}${fleet.server ? ` on ${fleet.server}` : ''} is failing for ${fleet.users_affected} users since ${fleet.first_failure_at}${where}: ${fleet.failures} failures in the window. Not your call; wait for the tool or its connector, or tell its owner.`,
    };
  }
  return {
    verdict: 'mixed',
    explained: `Mixed: ${fleet.others_users_failed} other user(s) also failed on ${call.tool} (${fleet.others_failures} of their ${fleet.others_executions} calls)${where}, but most calls succeed; compare your input and credentials with theirs.`,
  };
}
