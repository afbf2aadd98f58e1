import { filterArgs, limitArg, timeArgs, withNote } from '../common.js';
import { appView } from '../apps/views.js';
import { defineTool, READ_ONLY } from '../tool.js';
import { COST_UNIT, costOutputSchema, runCostReport, summarizeCost } from './cost-common.js';

export const cost_by_tool = defineTool({
  name: 'cost_by_tool',
  title: 'Tool-layer cost per tool',
  description: `What the tool layer costs per tool: tasks and cost_usd, share of the total, change against the previous window, top 3 users.

${COST_UNIT}

Default window 30d. Next: cost_by_user for the people side; who_drove_spike if a tool's cost jumped.
Example: "Which tools cost the most tasks this month?"`,
  inputSchema: {
    ...timeArgs('30d'),
    ...filterArgs,
    limit: limitArg(20, 100),
  },
  outputSchema: costOutputSchema,
  annotations: READ_ONLY,
  view: appView('cost_by_tool'),
  async handler(args, ctx) {
    const { report, note } = await runCostReport(args, ctx, 'tool');
    return withNote(report, summarizeCost(report, 'user'), note);
  },
});
