import type { Db } from '../store/store.js';
import { describeRange, sqlTime, type TimeRange } from './time-range.js';

/** Statuses that ended a call badly, for the one who made it. */
const BAD = `('failed', 'stopped', 'terminated')`;

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
export async function myFailures(db: Db, args: { range: TimeRange; user: string; tool?: string; limit: number }): Promise<MyFailuresResult> {
  const params = { from: sqlTime(args.range.from), to: sqlTime(args.range.to), user: args.user, ...(args.tool ? { tool: args.tool } : {}), limit: args.limit };
  const inWindow = `started_at >= CAST($from AS TIMESTAMP) AND started_at < CAST($to AS TIMESTAMP)`;
  const mine = await db.all<Omit<MyFailure, 'fleet' | 'verdict' | 'verdict_explained' | 'next' | 'failing_step' | 'error'> & {
    error_type: string | null; error_layer: string | null; error_message: string | null;
  }>(
    `SELECT execution_id, iso(started_at) AS started_at, status, tool_name AS tool, tool_server AS server, agent_client AS client,
            error_type, error_layer, error_message
     FROM executions
     WHERE ${inWindow} AND user_id = $user AND status IN ${BAD}${args.tool ? ' AND tool_name = $tool' : ''}
     ORDER BY started_at DESC, execution_id DESC LIMIT $limit`,
    params,
  );
  const total = await db.one<{ n: number }>(
    `SELECT count(*)::INTEGER AS n FROM executions WHERE ${inWindow} AND user_id = $user AND status IN ${BAD}${args.tool ? ' AND tool_name = $tool' : ''}`,
    params,
  );
  if (mine.length === 0) return { window: describeRange(args.range), user: args.user, total_bad: total?.n ?? 0, failures: [] };

  const ids = mine.map((m) => m.execution_id);
  const steps = await db.all<{ execution_id: string; index: number; name: string; connector: string | null; auth_mode: string | null; auth_identity: string | null }>(
    `SELECT execution_id, arg_min(step_index, step_index) AS "index", arg_min(name, step_index) AS name, arg_min(connector, step_index) AS connector,
            arg_min(auth_mode, step_index) AS auth_mode, arg_min(auth_identity, step_index) AS auth_identity
     FROM steps
     WHERE execution_key IN (SELECT execution_key_of(id) FROM (SELECT unnest(from_json($ids, '["VARCHAR"]')) AS id))
       AND status IN ('failed', 'terminated')
     GROUP BY execution_id`,
    { ids: JSON.stringify(ids) },
  );
  const stepOf = new Map(steps.map((s) => [s.execution_id, s]));

  const tools = [...new Set(mine.map((m) => m.tool))];
  const fleet = await db.all<FleetOfTool>(
    `SELECT tool_name AS tool, any_value(tool_server) AS server,
            count(*) FILTER (user_id <> $user)::INTEGER AS others_executions,
            count(*) FILTER (user_id <> $user AND status IN ('failed', 'terminated'))::INTEGER AS others_failures,
            count(DISTINCT user_id) FILTER (user_id <> $user AND status IN ('failed', 'terminated'))::INTEGER AS others_users_failed,
            count(DISTINCT user_id) FILTER (user_id <> $user AND status = 'succeeded')::INTEGER AS others_users_succeeded,
            count(*) FILTER (status IN ('failed', 'terminated'))::INTEGER AS failures,
            count(DISTINCT user_id) FILTER (status IN ('failed', 'terminated'))::INTEGER AS users_affected,
            iso(min(started_at) FILTER (status IN ('failed', 'terminated'))) AS first_failure_at,
            mode(error_type) FILTER (status IN ('failed', 'terminated')) AS dominant_error_type,
            mode(failing_connector) FILTER (status IN ('failed', 'terminated')) AS dominant_connector
     FROM executions WHERE ${inWindow} AND tool_name IN (SELECT unnest(from_json($tools, '["VARCHAR"]')))
     GROUP BY tool_name`,
    { from: params.from, to: params.to, user: args.user, tools: JSON.stringify(tools) },
  );
  const fleetOf = new Map(fleet.map((f) => [f.tool, f]));
  const window = describeRange(args.range);

  return {
    window,
    user: args.user,
    total_bad: total?.n ?? mine.length,
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
