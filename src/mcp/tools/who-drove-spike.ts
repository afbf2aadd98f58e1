import { z } from 'zod';
import { whoDroveSpike } from '../../analytics/spike.js';
import { parseInstant } from '../../clock.js';
import { explainEmpty, filterArgs, filtersOf, filtersShape, limitArg, n, pct, rangeOf, timeArgs, windowShape } from '../common.js';
import { appView } from '../apps/views.js';
import { defineTool, READ_ONLY } from '../tool.js';

const contributor = z.object({
  key: z.string().nullable(),
  executions: z.number(),
  baseline: z.number(),
  excess: z.number(),
  share_of_excess: z.number().nullable(),
  success_rate: z.number().nullable(),
  sample_execution_ids: z.array(z.string()),
});

export const who_drove_spike = defineTool({
  name: 'who_drove_spike',
  title: 'Who drove a spike',
  description: `Who and what drove a spike in executions (or failures, with status: "failed"). Finds the hour (day beyond 31d) furthest above its baseline (the same hour on previous days), or explains the one holding at. Ranks users, tools, user x tool, teams and clients by excess over their own baseline, with sample ids.

Default window 7d. Next: trace_execution a sample; usage_summary with user=<top user>.
Example: "Who drove Tuesday afternoon's spike?"`,
  inputSchema: {
    ...timeArgs('7d'),
    at: z.string().optional().describe('RFC 3339 time inside the spike; omit to find it.'),
    ...filterArgs,
    limit: limitArg(5, 20),
  },
  outputSchema: {
    window: windowShape,
    filters: filtersShape,
    bucket: z.enum(['hour', 'day']),
    baseline_method: z.enum(['same_hours_previous_days', 'same_weekday_previous_weeks', 'median_bucket']),
    baseline_explained: z.string(),
    spike: z
      .object({
        start: z.string(),
        end: z.string(),
        executions: z.number(),
        baseline: z.number(),
        excess: z.number(),
        chosen_by: z.enum(['largest_excess', 'at']),
      })
      .nullable(),
    contributors: z.object({
      users: z.array(contributor),
      tools: z.array(contributor),
      user_tool_pairs: z.array(contributor),
      teams: z.array(contributor),
      clients: z.array(contributor),
    }),
    note: z.string().optional(),
  },
  annotations: READ_ONLY,
  view: appView('who_drove_spike'),
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '7d');
    const filters = filtersOf(args, ctx);
    const at = args.at ? parseInstant(args.at, 'at') : undefined;
    const result = await whoDroveSpike(ctx.analytics, { range, filters, at, limit: args.limit });
    if (!result.spike) {
      // A window without data explains itself better than "no bucket rose above its baseline".
      const note = (await explainEmpty(ctx, range, filters)) ?? result.note;
      return { structured: { ...result, note }, summary: note ?? 'No spike found.' };
    }
    // What is counted: executions, or with a status filter, executions of that status.
    const what = filters.status === 'failed' ? 'failures' : filters.status ? `${filters.status} executions` : 'executions';
    // Counts are whole; baselines are medians and averages, shown rounded so none reads as "3.1 executions".
    const whole = (value: number) => n(Math.round(value));
    const top = (list: typeof result.contributors.users, label: string) =>
      list[0] ? `${label} ${list[0].key ?? '(none)'} (+${whole(list[0].excess)} ${what}, ${pct(list[0].share_of_excess)} of the excess, ${pct(list[0].success_rate)} ok)` : '';
    const s = result.spike;
    const summary = [
      `Spike ${s.start} to ${s.end}: ${whole(s.executions)} ${what} vs a baseline of about ${whole(s.baseline)} (+${whole(s.excess)}).`,
      [top(result.contributors.users, 'Top user'), top(result.contributors.tools, 'top tool'), top(result.contributors.clients, 'top client')].filter(Boolean).join('; ') + '.',
    ].join(' ');
    return { structured: result, summary };
  },
});
