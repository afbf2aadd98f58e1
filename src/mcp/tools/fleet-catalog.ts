import { z } from 'zod';
import { DISCOVERABLE, fleetCatalog } from '../../analytics/catalog.js';
import { unusedTools } from '../../analytics/unused.js';
import { limitArg, n, rangeOf, timeArgs, windowShape } from '../common.js';
import { CATALOG_COUNTS } from './unused-tools.js';
import { defineTool, READ_ONLY } from '../tool.js';

const valuesShape = z.object({
  distinct: z.number(),
  values: z.array(z.object({ value: z.string(), executions: z.number(), last_seen: z.string() })),
  has_more: z.boolean(),
});

export const fleet_catalog = defineTool({
  name: 'fleet_catalog',
  title: 'Names in the fleet',
  description: `The names that exist (tools, users, teams, servers, clients, environments) with counts and last seen, so filters use real values; the catalog, servers' tool lists, the store's extent and last ingest (is the feed current?).

Call it when unsure of a name ("jira_create_issue" or "jira.create_issue"?). Default window 30d.
Example: "Which MCP clients and servers do we have?"`,
  inputSchema: {
    ...timeArgs('30d'),
    dimension: z.enum(DISCOVERABLE).optional().describe('Only this list.'),
    limit: limitArg(25, 200),
  },
  outputSchema: {
    window: windowShape,
    dimensions: z.object(Object.fromEntries(DISCOVERABLE.map((d) => [d, valuesShape.optional()])) as Record<(typeof DISCOVERABLE)[number], z.ZodOptional<typeof valuesShape>>),
    catalog: z.object({
      tools: z.number().describe('The catalog unused_tools uses: every tool ever seen (name and server) plus catalog-file tools, less any first seen after the window.'),
      used_in_window: z.number(),
      unused_in_window: z.number(),
    }),
    store: z.object({
      executions: z.number(),
      oldest_started_at: z.string().nullable(),
      newest_started_at: z.string().nullable(),
      last_ingested_at: z.string().nullable(),
      quarantined_lines: z.number(),
    }),
    tool_lists: z.array(z.object({ server: z.string(), tools: z.number(), listed_since: z.string(), last_seen: z.string(), versions: z.number(), changed_tools: z.array(z.object({ name: z.string(), changed_at: z.string() })) }))
      .describe('Tool lists wrap recorded, per server: since when, changed tools.'),
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '30d');
    const [result, store, unused, toolLists] = await Promise.all([
      fleetCatalog(ctx.analytics, { range, limit: args.limit, only: args.dimension }),
      ctx.analytics.extent(),
      // The same count unused_tools gives, by the same function: the two tools cannot disagree.
      unusedTools(ctx.analytics, { range, limit: 1 }),
      ctx.analytics.catalog.toolLists(args.limit),
    ]);
    const catalog = { tools: unused.catalog_size, used_in_window: unused.catalog_size - unused.unused_count, unused_in_window: unused.unused_count };
    const summary = [
      ...Object.entries(result.dimensions).map(([d, v]) => `${d}s${d === 'tool' ? ' with executions in the window' : ''} (${n(v.distinct)}): ${v.values.slice(0, 8).map((x) => x.value).join(', ')}${v.distinct > 8 ? ', ...' : ''}`),
      `catalog: ${n(catalog.tools)} tools, ${n(catalog.used_in_window)} used in the window (by name and server), ${n(catalog.unused_in_window)} unused (unused_tools lists them). ${CATALOG_COUNTS}`,
      store.executions
        ? `store: ${n(store.executions)} executions from ${store.oldest_started_at} to ${store.newest_started_at}; last ingest ${store.last_ingested_at}; ${n(store.quarantined_lines)} line(s) in quarantine`
        : `store: empty, nothing ingested yet${store.quarantined_lines ? ` (${n(store.quarantined_lines)} line(s) in quarantine: mcp-blackbox quarantine says why)` : ''}`,
      ...toolLists.map((l) =>
        `tool list of ${l.server}: ${n(l.tools)} tools since ${l.listed_since} (last seen ${l.last_seen}; ${l.versions === 1 ? 'never changed' : `${l.versions} versions`})` +
        (l.changed_tools.length ? `; changed definitions: ${l.changed_tools.slice(0, 10).map((t) => `${t.name} at ${t.changed_at}`).join(', ')}` : ''),
      ),
    ].join('\n');
    return { structured: { ...result, catalog, store, tool_lists: toolLists }, summary };
  },
});
