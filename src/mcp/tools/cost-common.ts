import { z } from 'zod';
import { costReport, type CostReport } from '../../analytics/cost.js';
import type { Filters } from '../../analytics/filters.js';
import type { TimeArgs } from '../../analytics/time-range.js';
import { explainEmpty, filterArgs, filtersOf, filtersShape, limitArg, n, noteShape, pct, rangeOf, span, timeArgs, windowShape } from '../common.js';
import { defineTool, READ_ONLY, type ToolContext } from '../tool.js';

export const costOutputSchema = {
  window: windowShape,
  previous_window: windowShape,
  filters: filtersShape,
  group_by: z.enum(['user', 'team', 'tool']),
  total_tasks: z.number(),
  total_cost_usd: z.number().nullable(),
  previous_total_tasks: z.number(),
  executions_without_cost_usd: z.number(),
  executions: z.number(),
  share_with_cost_usd: z.number().nullable(),
  executions_with_default_tasks: z.number(),
  previous_window_caveat: z.string().nullable(),
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
  note: noteShape,
};

/** Dollars to the cent, the way a person reads money. */
export const usd = (value: number) => `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

export function summarizeCost(result: CostReport, innerLabel: string): string {
  const rows = result.rows
    .slice(0, 5)
    .map((r) => `${r.key ?? '(none)'} ${n(r.tasks)} tasks (${pct(r.share_of_tasks)}${r.cost_usd !== null ? `, ${usd(r.cost_usd)}` : ''}; top ${innerLabel}: ${r.top[0]?.key ?? '-'})`)
    .join('; ');
  const change = result.total_tasks - result.previous_total_tasks;
  const versus = result.previous_window_caveat ? `no change given: ${result.previous_window_caveat}` : `${change >= 0 ? '+' : ''}${n(change)} vs previous window`;
  // A dollar total over a window where most executions carry no price is not the spend: say so.
  const money = result.total_cost_usd === null
    ? ''
    : ` and ${usd(result.total_cost_usd)}${result.share_with_cost_usd !== null && result.share_with_cost_usd < 1 ? ` (only ${pct(result.share_with_cost_usd)} of the ${n(result.executions)} executions carry a cost_usd; the rest are not in it)` : ''}`;
  // Likewise a task total that is mostly the default of 1 per call counts calls, not stated cost.
  const defaulted = result.executions_with_default_tasks > 0
    ? ` ${n(result.executions_with_default_tasks)} of the ${n(result.executions)} executions (${pct(result.executions > 0 ? result.executions_with_default_tasks / result.executions : null)}) state no tasks and count the default (1 per call or workflow step).`
    : '';
  return `${n(result.total_tasks)} tasks${money} ${span(result.window)} (${versus}).${defaulted}${rows ? ` ${rows}.` : ''}${result.has_more ? ' More rows not shown (raise limit).' : ''}`;
}

/** The report, and the note that explains it when it is empty (explainEmpty). */
export async function runCostReport(
  args: TimeArgs & Filters & { limit: number },
  ctx: ToolContext,
  groupBy: 'user' | 'team' | 'tool',
): Promise<{ report: CostReport; note: string | undefined }> {
  const range = await rangeOf(args, ctx, '30d');
  const filters = filtersOf(args, ctx);
  const result = await costReport(ctx.analytics, { range, filters, groupBy, limit: args.limit });
  const note = result.rows.length === 0 ? await explainEmpty(ctx, range, filters) : undefined;
  return { report: result, note };
}

export const COST_UNIT = `Tasks: 1 per call unless the record says otherwise (a workflow: its steps); cost_usd where logs carry it.`;

