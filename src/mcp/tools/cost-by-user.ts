import { z } from 'zod';
import { filterArgs, limitArg, timeArgs, withNote } from '../common.js';
import { appView } from '../apps/views.js';
import { defineTool, READ_ONLY } from '../tool.js';
import { COST_UNIT, costOutputSchema, runCostReport, summarizeCost } from './cost-common.js';

export const cost_by_user = defineTool({
  name: 'cost_by_user',
  title: 'Tool-layer cost per user or team',
  description: `Who spends the tool layer: tasks and cost_usd per user (or team with group_by), share of the total, change against the previous window, top 3 tools.

${COST_UNIT}

Default window 30d. Next: cost_by_tool for the tool side; tool_usage with user=<id>.
Example: "Who spent the most tasks on MCP tools this month, and on what?"`,
  inputSchema: {
    group_by: z.enum(['user', 'team']).default('user'),
    ...timeArgs('30d'),
    ...filterArgs,
    limit: limitArg(20, 100),
  },
  outputSchema: costOutputSchema,
  annotations: READ_ONLY,
  view: appView('cost_by_user'),
  async handler(args, ctx) {
    const { report, note } = await runCostReport(args, ctx, args.group_by);
    return withNote(report, summarizeCost(report, 'tool'), note);
  },
});
