import { z } from 'zod';
import { unusedTools } from '../../analytics/unused.js';
import { TOOL_KINDS } from '../../model.js';
import { emptyWindowNote, limitArg, n, noteShape, rangeOf, span, timeArgs, windowShape, withNote } from '../common.js';
import { defineTool, READ_ONLY } from '../tool.js';

/** How both catalog tools count, said the same way in both. */
export const CATALOG_COUNTS =
  'The catalog is every tool ever seen in the logs (by name and server) plus those of the catalog file and of the tool lists wrap recorded, less any first seen after the window; fleet_catalog counts the same catalog.';

export const unused_tools = defineTool({
  name: 'unused_tools',
  title: 'Tools nobody used',
  description: `Catalog tools with no execution in the window: retire candidates or broken integrations. The catalog: every tool seen in the logs, the catalog file and the servers' tool lists. Each row: last used (null: never), days since, runs in the previous window. Longest unused first.

Default window 30d. Next: tool_usage with tool=<name> and a longer window.
Example: "Which tools went unused this month?"`,
  inputSchema: {
    ...timeArgs('30d'),
    server: z.string().optional(),
    kind: z.enum(TOOL_KINDS).optional(),
    limit: limitArg(50, 200),
  },
  outputSchema: {
    window: windowShape,
    previous_window: windowShape,
    catalog_size: z.number(),
    unused_count: z.number(),
    tools: z.array(
      z.object({
        name: z.string(),
        server: z.string().nullable(),
        kind: z.string(),
        last_used: z.string().nullable(),
        days_since_last_use: z.number().nullable(),
        runs_in_previous_window: z.number(),
        listed_in_catalog: z.boolean(),
      }),
    ),
    has_more: z.boolean(),
    note: noteShape,
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '30d');
    const result = await unusedTools(ctx.analytics, { range, server: args.server, kind: args.kind, limit: args.limit });
    const names = result.tools
      .slice(0, 8)
      .map((t) => `${t.name}${t.server ? ` (${t.server})` : ''}: ${t.last_used ? `last used ${t.days_since_last_use}d ago` : 'never used'}`)
      .join('; ');
    // Every tool unused may only mean that the window holds no data at all: say so, or an agent
    // would recommend retiring the whole fleet.
    const note = result.catalog_size > 0 && result.unused_count === result.catalog_size
      ? await emptyWindowNote(ctx, range)
      : undefined;
    const summary = `${n(result.unused_count)} of the catalog's ${n(result.catalog_size)} tools had no execution ${span(result.window)}${names ? `: ${names}` : ''}.${result.has_more ? ' More not shown (raise limit).' : ''} ${CATALOG_COUNTS}`;
    return withNote(result, summary, note);
  },
});
