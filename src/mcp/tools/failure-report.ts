import { z } from 'zod';
import { failureReport } from '../../analytics/failures.js';
import { explainEmpty, filterArgs, filtersOf, filtersShape, limitArg, n, noteShape, pct, rangeOf, span, timeArgs, windowShape, withNote } from '../common.js';
import { defineTool, READ_ONLY } from '../tool.js';

const { status: _status, ...failureFilters } = filterArgs;

export const failure_report = defineTool({
  name: 'failure_report',
  title: 'Failures grouped by cause',
  description: `Failed and terminated executions in a window, grouped by error type, error layer (llm, tool, connector, auth, platform), tool and the connector of the failing step, with counts, terminated count, affected users, first and last seen, and a sample execution id per group. Also the failure rate and the count per layer.

The entry point for "why did this agent workflow fail at 2am": narrow the window (from/to) and filters (user, tool), then trace_execution the sample id for the failing step and its auth context.

Defaults: window 7d, limit 20 groups (max 100), most frequent first. All filters except status apply.
Example: "Why did my sync_opportunities runs fail last night?"`,
  inputSchema: {
    ...timeArgs('7d'),
    ...failureFilters,
    limit: limitArg(20, 100, 'groups'),
  },
  outputSchema: {
    window: windowShape,
    filters: filtersShape,
    total_failures: z.number(),
    failure_rate: z.number().nullable(),
    by_layer: z.array(z.object({ layer: z.string().nullable(), count: z.number() })),
    groups: z.array(
      z.object({
        error_type: z.string().nullable(),
        error_layer: z.string().nullable(),
        tool: z.string(),
        connector: z.string().nullable(),
        count: z.number(),
        terminated: z.number(),
        affected_users: z.number(),
        first_seen: z.string(),
        last_seen: z.string(),
        sample_execution_id: z.string(),
      }),
    ),
    has_more: z.boolean(),
    note: noteShape,
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const range = rangeOf(args, ctx, '7d');
    const filters = filtersOf(args);
    const report = await failureReport((task) => ctx.store.read(task), { range, filters, limit: args.limit });
    const result = { ...report, groups: report.groups.map((g) => ctx.access.viewFailureGroup(g)) };
    const note = result.total_failures === 0 ? await explainEmpty(ctx, range, filters) : undefined;
    const groups = result.groups
      .slice(0, 5)
      .map((g) => `${g.count}× ${g.error_type ?? 'unknown'} (${g.error_layer ?? '?'}) in ${g.tool}${g.connector ? ` at ${g.connector}` : ''}, e.g. ${g.sample_execution_id}`)
      .join('; ');
    const layers = result.by_layer.map((l) => `${l.layer ?? 'unknown'} ${l.count}`).join(', ');
    const summary = `${n(result.total_failures)} failures ${span(result.window)} (failure rate ${pct(result.failure_rate)}; by layer: ${layers || 'none'}). ${groups}`;
    return withNote(result, summary, note);
  },
});
