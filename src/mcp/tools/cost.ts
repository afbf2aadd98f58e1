import { z } from 'zod';
import { costReport, type CostReport } from '../../analytics/cost.js';
import type { Filters } from '../../analytics/filters.js';
import type { TimeArgs } from '../../analytics/time-range.js';
import { explainEmpty, filterArgs, filtersOf, filtersShape, limitArg, n, pct, rangeOf, span, timeArgs, windowShape } from '../common.js';
import { defineTool, READ_ONLY, type ToolContext } from '../tool.js';

const outputSchema = {
  window: windowShape,
  previous_window: windowShape,
  filters: filtersShape,
  group_by: z.enum(['user', 'team', 'tool']),
  total_tasks: z.number(),
  total_cost_usd: z.number().nullable(),
  previous_total_tasks: z.number(),
  executions_without_cost_usd: z.number(),
  rows: z.array(
    z.object({
      key: z.string().nullable(),
      tasks: z.number(),
      cost_usd: z.number().nullable(),
      executions: z.number(),
      share_of_tasks: z.number().nullable(),
      previous_tasks: z.number(),
      change_tasks: z.number(),
      top: z.array(z.object({ key: z.string().nullable(), tasks: z.number(), cost_usd: z.number().nullable() })),
    }),
  ),
  has_more: z.boolean(),
};

function summarize(result: CostReport, innerLabel: string): string {
  const rows = result.rows
    .slice(0, 5)
    .map((r) => `${r.key ?? '(none)'} ${n(r.tasks)} tasks (${pct(r.share_of_tasks)}${r.cost_usd !== null ? `, $${r.cost_usd}` : ''}; top ${innerLabel}: ${r.top[0]?.key ?? '-'})`)
    .join('; ');
  const change = result.total_tasks - result.previous_total_tasks;
  return `${n(result.total_tasks)} tasks${result.total_cost_usd !== null ? ` and $${result.total_cost_usd}` : ''} ${span(result.window)} (${change >= 0 ? '+' : ''}${n(change)} vs previous window). ${rows}.${result.has_more ? ' More rows not shown (raise limit).' : ''}`;
}

async function run(args: TimeArgs & Filters & { limit: number }, ctx: ToolContext, groupBy: 'user' | 'team' | 'tool') {
  const range = rangeOf(args, ctx, '30d');
  const filters = filtersOf(args);
  const result = await ctx.store.read((db) => costReport(db, { range, filters, groupBy, limit: args.limit }));
  if (result.rows.length === 0) await explainEmpty(ctx, filters);
  return result;
}

const COST_UNIT = `Tasks are the cost unit: a connector tool call costs 1 task unless its record says otherwise; a workflow costs the sum of its steps. cost_usd is summed where the logs carry it (executions_without_cost_usd says how many do not).`;

export const cost_by_user = defineTool({
  name: 'cost_by_user',
  title: 'Tool-layer cost per user or team',
  description: `Who spends the tool layer: tasks and cost_usd per user (or per team with group_by: "team"), each with its share of the total, the change against the previous window, and its top 3 tools.

${COST_UNIT}

Defaults: window 30d, group_by user, limit 20 (max 100). All filters apply.
Next: cost_by_tool for the tool side; tool_usage with user=<id> for that user's activity.
Example: "Who spent the most tasks on MCP tools this month, and on what?"`,
  inputSchema: {
    group_by: z.enum(['user', 'team']).default('user').describe('Per user (default) or per team.'),
    ...timeArgs('30d'),
    ...filterArgs,
    limit: limitArg(20, 100, 'rows'),
  },
  outputSchema,
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const result = await run(args, ctx, args.group_by);
    return { structured: result, summary: summarize(result, 'tool') };
  },
});

export const cost_by_tool = defineTool({
  name: 'cost_by_tool',
  title: 'Tool-layer cost per tool',
  description: `What the tool layer costs per tool: tasks and cost_usd per tool, its share of the total, the change against the previous window, and its top 3 users.

${COST_UNIT}

Defaults: window 30d, limit 20 (max 100). All filters apply (team: "revops" shows what that team's calls cost per tool).
Next: cost_by_user for the people side; who_drove_spike if a tool's cost jumped.
Example: "Which tools cost the most tasks this month?"`,
  inputSchema: {
    ...timeArgs('30d'),
    ...filterArgs,
    limit: limitArg(20, 100, 'rows'),
  },
  outputSchema,
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const result = await run(args, ctx, 'tool');
    return { structured: result, summary: summarize(result, 'user') };
  },
});
