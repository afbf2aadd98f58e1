import { z } from 'zod';
import { unknownFilterValues } from '../analytics/catalog.js';
import { describeCoverage } from '../analytics/coverage.js';
import { activeFilters, type Filters } from '../analytics/filters.js';
import type { MetricsUsage } from '../analytics/metrics-usage.js';
import { needsOldest, resolveRange, type TimeArgs, type TimeRange } from '../analytics/time-range.js';
import { NotFoundError, UserInputError } from '../errors.js';
import { LOCAL_CALLER } from '../access/caller.js';
import { STATUSES } from '../model.js';
import type { ToolContext } from './tool.js';

/** Time arguments every windowed tool takes. */
export const timeArgs = (defaultWindow: string) => ({
  window: z
    .string()
    .optional()
    .describe(`Default ${defaultWindow}; the forms are in the server instructions.`),
  from: z.string().optional(),
  to: z.string().optional(),
  tz: z.string().optional(),
});

/**
 * Filters every fleet question takes. Their names say what they match (exactly; fleet_catalog
 * lists the values), and the server instructions say so once: tools/list is read at the start of
 * every conversation, so what every tool shares is not repeated in each.
 */
export const filterArgs = {
  tool: z.string().optional(),
  user: z.string().optional().describe('A user id, or "me".'),
  team: z.string().optional(),
  server: z.string().optional(),
  client: z.string().optional(),
  environment: z.string().optional(),
  via_mcp: z.boolean().optional(),
  status: z.enum(STATUSES).optional(),
};

export const limitArg = (defaultLimit: number, max: number) =>
  // The bounds and the default are in the schema itself, and the name says the rest.
  z.number().int().min(1).max(max).default(defaultLimit);

export const windowShape = z.object({ from: z.string(), to: z.string() });
export const filtersShape = z.object({
  tool: z.string().optional(),
  user: z.string().optional(),
  team: z.string().optional(),
  server: z.string().optional(),
  client: z.string().optional(),
  environment: z.string().optional(),
  via_mcp: z.boolean().optional(),
  status: z.string().optional(),
});

/** The range the arguments name, in the caller's tz or the server's default (serve --tz). */
export async function rangeOf(args: TimeArgs, ctx: ToolContext, defaultWindow: string): Promise<TimeRange> {
  const zoned = { ...args, tz: args.tz ?? ctx.tz };
  const oldest = needsOldest(zoned) ? await ctx.analytics.extent() : undefined;
  return resolveRange(zoned, ctx.clock, defaultWindow, oldest?.oldest_started_at ? new Date(oldest.oldest_started_at) : null);
}

/** The word an agent uses for itself in a user filter (and the text that says who it turned out to be). */
export const ME = 'me';

/**
 * The filters of a call, with `user: "me"` resolved to the caller (the access-file user, the JWT
 * subject, or --as in single-user mode), so an agent can ask about its own calls by that word.
 */
export function filtersOf(args: Filters, ctx: ToolContext): Filters {
  return activeFilters({
    tool: args.tool,
    user: args.user === ME ? me(ctx) : args.user,
    team: args.team,
    server: args.server,
    client: args.client,
    environment: args.environment,
    via_mcp: args.via_mcp,
    status: args.status,
  });
}

/** The caller's user id, for "me"; the anonymous local admin records nothing, so it cannot be "me". */
export function me(ctx: ToolContext): string {
  const id = ctx.access.caller.id;
  if (id === LOCAL_CALLER.id) {
    throw new UserInputError(
      'user "me" needs to know who you are: this server runs as the anonymous local admin. Start it with --as NAME (mcp-blackbox setup does), the name your recordings carry, or give a user id.',
    );
  }
  return id;
}

/**
 * An empty answer is ambiguous: nothing happened, a filter names something that does not exist,
 * or the window lies where the store has no data at all (a log feed that stopped, a date typo).
 * A filter naming nothing is an error, with the closest real names; a window without data gets a
 * note that says where the data is. Returns the note, or undefined when the emptiness is real.
 */
export async function explainEmpty(ctx: ToolContext, range: TimeRange, filters: Filters): Promise<string | undefined> {
  const problems = await unknownFilterValues(ctx.analytics, filters);
  if (problems.length > 0) {
    throw new NotFoundError(
      problems
        .map((p) => `No ${p.filter} is named ${JSON.stringify(p.value)}${p.closest.length ? `; closest: ${p.closest.join(', ')}` : ''}.`)
        .join(' ') + ' Call fleet_catalog to list the names that exist.',
    );
  }
  return emptyWindowNote(ctx, range);
}

/** The note for a window that holds no execution at all, or undefined when it holds some. */
export async function emptyWindowNote(ctx: ToolContext, range: TimeRange): Promise<string | undefined> {
  const coverage = await ctx.analytics.coverage(range);
  const facts = describeCoverage(coverage, range);
  if (!facts) return undefined;
  return coverage.executions === 0
    ? `${facts} Load logs with mcp-blackbox ingest, serve --watch, or POST /v1/executions.`
    : `${facts} Ask again with from/to inside that span.`;
}

/** A tool's answer with the note, if there is one, in both the structured result and the summary. */
export function withNote<T extends object>(structured: T, summary: string, note: string | undefined): { structured: T & { note?: string }; summary: string } {
  return note ? { structured: { ...structured, note }, summary: `${summary.trimEnd()} ${note}` } : { structured, summary };
}

/** The output field that carries the note (see explainEmpty): where the data is, when the window holds none. */
export const noteShape = z.string().optional();

export const pct = (value: number | null): string => (value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`);
export const n = (value: number): string => value.toLocaleString('en-US');
export const span = (w: { from: string; to: string }): string => `${w.from} to ${w.to}`;

/** The output field for tool calls known from OTLP metrics only (analytics/metrics-usage.ts). */
export const fromMetricsShape = z
  .object({ calls: z.number(), failures: z.number(), tools: z.array(z.object({ tool: z.string(), server: z.string().nullable(), side: z.string(), calls: z.number(), failures: z.number(), mean_duration_ms: z.number().nullable() })) })
  .nullable();

/**
 * Tool calls the MCP operation metrics report in the window, kept apart from executions (metrics
 * have no users or payloads, and a fleet may send both): the field and a line for the summary.
 */
export async function fromMetrics(ctx: ToolContext, range: TimeRange, filters: Filters): Promise<{ from_metrics: MetricsUsage | null; line: string }> {
  const usage = await ctx.analytics.metricsUsage(range, filters);
  if (!usage) return { from_metrics: null, line: '' };
  const tools = usage.tools.slice(0, 5).map((t) => `${t.tool} ${n(t.calls)}${t.failures ? ` (${n(t.failures)} failed)` : ''}${t.mean_duration_ms !== null ? `, mean ${t.mean_duration_ms} ms` : ''}`).join('; ');
  return {
    from_metrics: usage,
    line: ` From OTLP metrics (counts only: no users, no payloads, not in the figures above): ${n(usage.calls)} tool calls, ${n(usage.failures)} failed; ${tools}.`,
  };
}
