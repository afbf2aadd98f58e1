import { z } from 'zod';
import { failureReport } from '../../analytics/failures.js';
import { explainEmpty, filterArgs, filtersOf, filtersShape, limitArg, n, noteShape, pct, rangeOf, span, timeArgs, windowShape, withNote } from '../common.js';
import { appView } from '../apps/views.js';
import { defineTool, READ_ONLY } from '../tool.js';

const { status: _status, ...failureFilters } = filterArgs;

export const failure_report = defineTool({
  name: 'failure_report',
  title: 'Failures grouped by cause',
  description: `Why executions failed: failed and terminated ones rolled up by error type x tool (total, first/last seen, sample id, parts by layer and connector), finer groups with affected users, the failure rate, counts per layer (llm, tool, connector, auth, platform).

For "why did it fail at 2am": narrow with from/to and user/tool, then trace_execution the sample id. Default window 7d.
Example: "Why did my sync_opportunities runs fail last night?"`,
  inputSchema: {
    ...timeArgs('7d'),
    ...failureFilters,
    limit: limitArg(20, 100),
  },
  outputSchema: {
    window: windowShape,
    filters: filtersShape,
    total_failures: z.number(),
    failure_rate: z.number().nullable(),
    by_layer: z.array(z.object({ layer: z.string().nullable(), count: z.number() })),
    rollup: z.array(
      z.object({
        error_type: z.string().nullable(),
        tool: z.string(),
        count: z.number(),
        terminated: z.number(),
        first_seen: z.string(),
        last_seen: z.string(),
        sample_execution_id: z.string(),
        parts: z.array(z.object({ error_layer: z.string().nullable(), connector: z.string().nullable(), count: z.number() })),
      }),
    ),
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
  view: appView('failure_report'),
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '7d');
    const filters = filtersOf(args, ctx);
    const report = await failureReport(ctx.analytics, { range, filters, limit: args.limit });
    const result = {
      ...report,
      rollup: report.rollup.map((r) => ({
        ...r,
        error_type: ctx.access.aggregateText(r.error_type),
        parts: r.parts.map((p) => ({ ...p, connector: ctx.access.aggregateText(p.connector) })),
      })),
      groups: report.groups.map((g) => ctx.access.viewFailureGroup(g)),
    };
    const note = result.total_failures === 0 ? await explainEmpty(ctx, range, filters) : undefined;
    const layerName = (layer: string | null) => (layer ? `${layer} layer` : 'unrecorded layer');
    const lines = result.rollup.slice(0, 5).map((r) => {
      const parts = r.parts.map((p) => `${n(p.count)} at the ${layerName(p.error_layer)}${p.connector ? ` via ${p.connector}` : ''}`).join(', ');
      return `${n(r.count)}× ${r.error_type ?? 'untyped error'} in ${r.tool} (${r.first_seen} to ${r.last_seen}${r.terminated ? `, ${n(r.terminated)} terminated` : ''}): ${parts}; e.g. ${r.sample_execution_id}`;
    });
    const layers = result.by_layer.map((l) => `${l.layer ?? 'unrecorded'} ${l.count}`).join(', ');
    const summary = [`${n(result.total_failures)} failures ${span(result.window)} (failure rate ${pct(result.failure_rate)}; by layer: ${layers || 'none'}).`, ...lines].join('\n');
    return withNote(result, summary, note);
  },
});
