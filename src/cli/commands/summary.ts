import { describeCoverage } from '../../analytics/coverage.js';
import { storeCoverage, storeExtent } from '../../analytics/duckdb/coverage.js';
import { checkTimeZone, needsOldest, resolveRange } from '../../analytics/time-range.js';
import { usageSummary } from '../../analytics/usage.js';
import { duckdbAnalytics } from '../../analytics/duckdb/index.js';
import { toolUsage } from '../../analytics/tool-usage.js';
import { whoDroveSpike } from '../../analytics/spike.js';
import { failureReport } from '../../analytics/failures.js';
import { unusedTools } from '../../analytics/unused.js';
import { clockFrom, type Clock } from '../../clock.js';
import { resolve } from 'node:path';
import { onStoreOrOwner, type CommandOutput } from '../owner.js';
import { loadCatalogFile } from '../../ingest/catalog-file.js';
import { Store } from '../../store/store.js';
import { resolveConfig, type CommonFlags } from '../config.js';

const n = (v: number) => v.toLocaleString('en-US');
const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);

/** A one-screen fleet summary: the same analytics the MCP tools use. */
export async function fleetSummaryText(store: Store, clock: Clock, window: string, tz?: string): Promise<string> {
  const oldest = needsOldest({ window }) ? (await store.read((db) => storeExtent(db))).oldest_started_at : null;
  const range = resolveRange({ window, tz }, clock, '7d', oldest ? new Date(oldest) : null);
  const analytics = duckdbAnalytics((task) => store.read(task));
  const usage = await usageSummary(analytics, { range, filters: {} });
  const tools = await toolUsage(analytics, { range, filters: {}, by: 'tool', limit: 5 });
  const failures = await failureReport(analytics, { range, filters: {}, limit: 3 });
  const spike = await whoDroveSpike(analytics, { range, filters: {}, limit: 1 });
  return store.read(async (db) => {
    const unused = await unusedTools(analytics, { range: resolveRange({ window: '30d', tz }, clock), limit: 5 });
    const out: string[] = [];
    out.push(`Fleet summary, ${usage.window.from} to ${usage.window.to}`);
    out.push(`  executions   ${n(usage.total_executions)} (${usage.change.caveat ? `no change given: ${usage.change.caveat}` : usage.change.percent === null ? 'no previous window' : `${usage.change.percent > 0 ? '+' : ''}${usage.change.percent}% vs the previous window of the same length`})`);
    if (usage.total_executions === 0) {
      const coverage = await storeCoverage(db, range);
      const facts = describeCoverage(coverage, range);
      if (facts) {
        const advice = coverage.newest_started_at
          ? ` Look there with --now ${coverage.newest_started_at} (or a longer --window).`
          : ' Load logs with mcp-blackbox ingest.';
        out.push(`  note         ${facts}${advice}`);
      }
    }
    out.push(`  success      ${pct(usage.success_rate)}  (failed ${n(usage.by_status.failed)}, terminated ${n(usage.by_status.terminated)}, stopped ${n(usage.by_status.stopped)})`);
    out.push(`  users        ${n(usage.active_users.total)} active (${usage.active_users.workflow_tool_users} workflow, ${usage.active_users.connector_tool_users} connector)`);
    out.push(`  tasks        ${n(usage.tasks)}`);
    if (usage.top_tool_driver && usage.top_tool_driver.delta !== 0) {
      out.push(`  driver       ${usage.top_tool_driver.name} ${usage.top_tool_driver.delta > 0 ? '+' : ''}${n(usage.top_tool_driver.delta)} (${pct(usage.top_tool_driver.share_of_change)} of the change)`);
    }
    out.push('  top tools');
    for (const r of tools.rows) out.push(`    ${(r.key ?? '(none)').padEnd(28)} ${n(r.runs).padStart(7)} runs  ${pct(r.success_rate).padStart(6)} ok  p95 ${r.p95_duration_ms ?? '-'} ms`);
    if (spike.spike) {
      const who = spike.contributors.users[0];
      out.push(`  spike        ${spike.spike.start} .. ${spike.spike.end}: ${n(spike.spike.executions)} vs baseline ${spike.spike.baseline}${who ? `; driven by ${who.key} (${pct(who.share_of_excess)} of the excess)` : ''}`);
    }
    out.push(`  failures     ${n(failures.total_failures)}${failures.groups.map((g) => `\n    ${g.count}x ${g.error_type} (${g.error_layer}) in ${g.tool}`).join('')}`);
    out.push(`  unused (30d) ${unused.unused_count} of ${unused.catalog_size} tools${unused.tools.length ? ': ' + unused.tools.map((t) => t.name).join(', ') : ''}`);
    return `${out.join('\n')}\n`;
  });
}

export interface SummaryArgs {
  window?: string;
  catalog?: string;
  now?: string;
  tz?: string;
}

/** The summary as `mcp-blackbox summary` prints it, from a store this process has open (its own or, run for a CLI, the owner's). */
export async function summaryReport(store: Store, args: SummaryArgs, defaults: { clock: Clock; tz?: string }): Promise<CommandOutput> {
  // The catalog is kept in the database, as serve and ingest keep it: the unused tools below count it.
  if (args.catalog) await loadCatalogFile(store, resolve(args.catalog));
  const clock = args.now ? clockFrom(args.now) : defaults.clock;
  const tz = args.tz ? checkTimeZone(args.tz) : defaults.tz;
  return { text: await fleetSummaryText(store, clock, args.window ?? '7d', tz), code: 0 };
}

export async function summaryCommand(flags: CommonFlags & { window: string; catalog?: string }): Promise<number> {
  const config = resolveConfig(flags, process.env);
  const args: SummaryArgs = { window: flags.window, catalog: flags.catalog && resolve(flags.catalog), now: flags.now, tz: config.tz };
  const out = await onStoreOrOwner(config, 'summary', { ...args }, (store) => summaryReport(store, args, config));
  process.stdout.write(out.text);
  return out.code;
}
