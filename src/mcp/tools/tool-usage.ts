import { z } from 'zod';
import { BREAKDOWN_DIMENSIONS, toolUsage } from '../../analytics/tool-usage.js';
import { explainEmpty, filterArgs, fromMetrics, fromMetricsShape, filtersOf, filtersShape, limitArg, n, noteShape, pct, rangeOf, span, timeArgs, windowShape, withNote } from '../common.js';
import { defineTool, READ_ONLY } from '../tool.js';

const DIMENSIONS = Object.keys(BREAKDOWN_DIMENSIONS) as [keyof typeof BREAKDOWN_DIMENSIONS, ...Array<keyof typeof BREAKDOWN_DIMENSIONS>];

export const tool_usage = defineTool({
  name: 'tool_usage',
  title: 'Usage ranked by tool, user, team, server or client',
  description: `Ranks activity by tool, user, team, server or client, most runs first: runs, succeeded, failures, success rate, tasks, users, p50/p95 ms, last used, a sample id.

"by: user, tool: X" lists who uses X. Default window 7d.
Next: trace_execution on a sample id, cost_by_tool, unused_tools.
Example: "Which MCP tools did the revops team use most this month?"`,
  inputSchema: {
    by: z.enum(DIMENSIONS).default('tool'),
    ...timeArgs('7d'),
    ...filterArgs,
    limit: limitArg(20, 100),
  },
  outputSchema: {
    window: windowShape,
    filters: filtersShape,
    by: z.enum(DIMENSIONS),
    total_runs: z.number(),
    total_groups: z.number(),
    rows: z.array(
      z.object({
        key: z.string().nullable(),
        runs: z.number(),
        succeeded: z.number(),
        failures: z.number(),
        success_rate: z.number().nullable(),
        tasks: z.number(),
        distinct_users: z.number(),
        p50_duration_ms: z.number().nullable(),
        p95_duration_ms: z.number().nullable(),
        last_used: z.string(),
        sample_execution_id: z.string(),
      }),
    ),
    has_more: z.boolean(),
    from_metrics: fromMetricsShape,
    note: noteShape,
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '7d');
    const filters = filtersOf(args, ctx);
    const result = await toolUsage(ctx.analytics, { range, filters, by: args.by, limit: args.limit });
    const metrics = await fromMetrics(ctx, range, filters);
    // A fleet that sends only metrics has no executions: that is no empty answer to explain.
    const note = result.total_runs === 0 && !metrics.from_metrics ? await explainEmpty(ctx, range, filters) : undefined;
    const top = result.rows
      .slice(0, 5)
      .map((r) => `${r.key ?? '(none)'} ${n(r.runs)} runs, ${pct(r.success_rate)} ok`)
      .join('; ');
    const summary = `${n(result.total_runs)} runs across ${n(result.total_groups)} ${args.by}(s) ${span(result.window)}. Top: ${top || 'none'}.${result.has_more ? ` ${result.total_groups - result.rows.length} more not shown (raise limit).` : ''}`;
    return withNote({ ...result, from_metrics: metrics.from_metrics }, summary + metrics.line, note);
  },
});
