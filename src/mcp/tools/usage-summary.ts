import { z } from 'zod';
import { usageSummary } from '../../analytics/usage.js';
import { BUCKETS, checkBucket } from '../../analytics/time-range.js';
import { explainEmpty, filterArgs, fromMetrics, fromMetricsShape, filtersOf, filtersShape, n, noteShape, pct, rangeOf, span, timeArgs, windowShape, withNote } from '../common.js';
import { appView } from '../apps/views.js';
import { defineTool, READ_ONLY } from '../tool.js';

const statusCounts = { succeeded: z.number(), failed: z.number(), stopped: z.number(), terminated: z.number(), running: z.number() };
const driver = z.object({ name: z.string().nullable(), current: z.number(), previous: z.number(), delta: z.number(), share_of_change: z.number().nullable() }).nullable();

export const usage_summary = defineTool({
  name: 'usage_summary',
  title: 'Fleet usage summary',
  description: `The fleet at a glance, first for any "how is the fleet doing": executions by status, success rate, active users (workflow vs connector tools), tasks, a series by status (hours up to 48h, days up to 400d, then weeks, months), change vs the previous window and the tool and user that moved it most.

Default window 7d. Next: tool_usage to rank, who_drove_spike for a peak, failure_report for failures.
Example: "How many tool calls ran this week, and why are they up?"`,
  inputSchema: {
    ...timeArgs('7d'),
    ...filterArgs,
    bucket: z.enum(BUCKETS).optional(),
  },
  outputSchema: {
    window: windowShape,
    filters: filtersShape,
    total_executions: z.number(),
    by_status: z.object(statusCounts),
    success_rate: z.number().nullable(),
    active_users: z.object({ total: z.number(), workflow_tool_users: z.number(), connector_tool_users: z.number() }),
    tasks: z.number(),
    bucket: z.enum(BUCKETS),
    series: z.array(z.object({ start: z.string(), total: z.number(), ...statusCounts })),
    previous_window: z.object({ from: z.string(), to: z.string(), total_executions: z.number() }),
    change: z.object({ delta: z.number(), percent: z.number().nullable(), caveat: z.string().optional().describe('Why no percentage is given: the previous window is not comparable.') }),
    top_tool_driver: driver,
    top_user_driver: driver,
    sample_execution_ids: z.array(z.string()),
    from_metrics: fromMetricsShape,
    note: noteShape,
  },
  annotations: READ_ONLY,
  view: appView('usage_summary'),
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '7d');
    const filters = filtersOf(args, ctx);
    if (args.bucket) checkBucket(range, args.bucket);
    const result = await usageSummary(ctx.analytics, { range, filters, bucket: args.bucket });
    const metrics = await fromMetrics(ctx, range, filters);
    // A fleet that sends only metrics has no executions: that is no empty answer to explain.
    const note = result.total_executions === 0 && !metrics.from_metrics ? await explainEmpty(ctx, range, filters) : undefined;
    const change = result.change.caveat
      ? `no change given: ${result.change.caveat}`
      : result.change.percent === null ? 'no previous data' : `${result.change.percent > 0 ? '+' : ''}${result.change.percent}% vs previous window`;
    const drivers = [result.top_tool_driver, result.top_user_driver]
      .filter((d) => d && d.delta !== 0)
      .map((d) => `${d!.name} ${d!.delta > 0 ? '+' : ''}${n(d!.delta)}${d!.share_of_change !== null ? ` (${pct(d!.share_of_change)} of the change)` : ''}`);
    const summary = [
      `${n(result.total_executions)} executions ${span(result.window)} (${change}).`,
      `Success rate ${pct(result.success_rate)}; failed ${n(result.by_status.failed)}, terminated ${n(result.by_status.terminated)}, stopped ${n(result.by_status.stopped)}, running ${n(result.by_status.running)}.`,
      `${n(result.active_users.total)} active users (${result.active_users.workflow_tool_users} on workflow tools, ${result.active_users.connector_tool_users} on connector tools); ${n(result.tasks)} tasks.`,
      drivers.length ? `Biggest movers: ${drivers.join('; ')}.` : '',
    ].filter(Boolean).join(' ');
    return withNote({ ...result, from_metrics: metrics.from_metrics }, summary + metrics.line, note);
  },
});
