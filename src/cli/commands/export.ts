import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { verifyExportedChain } from '../../access/audit.js';
import type { AuditRow } from '../../store/audit-events.js';
import { parseInstant } from '../../clock.js';
import { UserInputError } from '../../errors.js';
import { exportStatus, loadExportFile, replay } from '../../export/exporter.js';
import type { SinkConfig } from '../../export/sinks.js';
import { parseSink } from '../../export/sinks.js';
import type { Store } from '../../store/store.js';
import type { ExportStore } from '../../export/export-store.js';
import { clickhouseExportStore } from '../../store/clickhouse/export.js';
import { ClickHouseStore } from '../../store/clickhouse/store.js';
import type { StoreLocation } from '../../store/store-url.js';
import type { Config } from '../config.js';
import { resolveConfig, type CommonFlags } from '../config.js';
import { EXIT_OK, EXIT_PARTIAL } from '../exit-codes.js';
import { onStoreOrOwner, type CommandOutput } from '../owner.js';

/** The sinks of every --export file, by name; a name given twice is an error. */
export function loadExportFiles(paths: readonly string[], env: NodeJS.ProcessEnv = process.env): Map<string, SinkConfig> {
  const sinks = new Map<string, SinkConfig>();
  for (const path of paths) {
    for (const [name, sink] of loadExportFile(resolve(path), env)) {
      if (sinks.has(name)) throw new UserInputError(`sink ${name} is configured twice (in ${path} and an earlier --export file); names are unique.`);
      sinks.set(name, sink);
    }
  }
  return sinks;
}

/** `export --sink NAME --from T`: a past range sent again, in the process that holds the sink (the owner's, or this one's). */
export async function exportReplayReport(store: Store | ExportStore, sinks: ReadonlyMap<string, SinkConfig>, args: Record<string, unknown>): Promise<CommandOutput> {
  const name = String(args.sink ?? '');
  const sink = args.config ? parseSink(name, args.config) : sinks.get(name);
  if (!sink) throw new UserInputError(`no sink is named ${JSON.stringify(name)}; ${sinks.size ? `the sinks are ${[...sinks.keys()].join(', ')}` : 'none is configured (serve --export FILE, or pass --export FILE here)'}.`);
  const from = parseInstant(String(args.from ?? ''), '--from');
  const to = args.to ? parseInstant(String(args.to), '--to') : new Date();
  if (to <= from) throw new UserInputError(`--to (${to.toISOString()}) must be after --from (${from.toISOString()}).`);
  const sent = await replay(store, name, sink, { from, to });
  return { text: `export ${name}: sent ${sent} event(s) of ${from.toISOString()} .. ${to.toISOString()} (${sink.type}, policy ${sink.policy}); the sink's cursor was not moved.\n`, code: EXIT_OK };
}

/** `export status` as text. */
export async function exportStatusReport(store: Store, sinks: ReadonlyMap<string, SinkConfig>): Promise<CommandOutput> {
  if (sinks.size === 0) return { text: 'No export sinks configured (serve --export FILE).\n', code: EXIT_OK };
  const rows = await exportStatus(store, sinks);
  const text = rows
    .map((s) => `${s.name} (${s.type}, ${s.policy}, ${s.streams.join('+')}): ${s.sent} sent, ${s.lag_events} behind${s.lag_seconds !== null ? ` (oldest waiting ${s.lag_seconds} s)` : ''}; last success ${s.last_success ?? 'never'}${s.last_error ? `; last error ${s.last_error_at}: ${s.last_error}` : ''}`)
    .join('\n');
  return { text: `${text}\n`, code: EXIT_OK };
}

export async function exportCommand(flags: CommonFlags & { sink: string; from: string; to?: string; export?: string[] }): Promise<number> {
  const config = resolveConfig(flags, process.env, { clickhouse: true });
  // A sink named in a local --export file travels with the request (its env: secrets read here).
  const local = flags.export?.length ? loadExportFiles(flags.export) : new Map<string, SinkConfig>();
  const args = { sink: flags.sink, from: flags.from, to: flags.to, ...(local.has(flags.sink) ? { config: local.get(flags.sink) } : {}) };
  const location = config.store;
  // A shared ClickHouse store is read from here: no instance owns it, and a replay moves no cursor.
  const out =
    location.engine !== 'duckdb'
      ? await withClickHouse(location, config, (store) => exportReplayReport(clickhouseExportStore(store.ch, { settleMs: 0 }), local, args))
      : await onStoreOrOwner(config, 'export-replay', args, (store) => exportReplayReport(store, local, args));
  process.stdout.write(out.text);
  return out.code;
}

/**
 * The audit rows of an export, by chain: NDJSON of events as the file sink writes them, or HEC's
 * {"event": ...} lines. A DuckDB store's events have one chain (named ''); a ClickHouse store's
 * name the instance's chain they belong to (`chain.id`), which the hash does not cover.
 */
function auditRowsOf(path: string): { chains: Map<string, AuditRow[]>; lines: number; unreadable: number } {
  const chains = new Map<string, AuditRow[]>();
  let lines = 0;
  let unreadable = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    lines++;
    let value: { event?: unknown; metadata?: { log_name?: string }; mcp?: { chain?: AuditRow & { id?: string } } };
    try {
      value = JSON.parse(line);
    } catch {
      unreadable++;
      continue;
    }
    const event = (value.event && typeof value.event === 'object' && 'class_uid' in value.event ? value.event : value) as typeof value;
    if (event.metadata?.log_name === 'audit' && event.mcp?.chain) {
      const { id = '', ...row } = event.mcp.chain;
      chains.set(id, [...(chains.get(id) ?? []), row]);
    }
  }
  return { chains, lines, unreadable };
}

export async function auditVerifyExportCommand(file: string, flags: { json?: boolean }): Promise<number> {
  const key = process.env.MCP_BLACKBOX_AUDIT_KEY || undefined;
  const { chains, lines, unreadable } = auditRowsOf(resolve(file));
  if ([...chains.keys()].some(Boolean)) return verifyExportedChains(chains, { file, lines, unreadable, key, json: flags.json });
  const result = verifyExportedChain(chains.get('') ?? [], key);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...result, lines, unreadable_lines: unreadable }, null, 2)}\n`);
  } else if (result.events === 0) {
    process.stdout.write(`${file}: no audit events among ${lines} line(s)${unreadable ? ` (${unreadable} not JSON)` : ''}; nothing to verify.\n`);
  } else if (result.ok) {
    process.stdout.write(
      `exported audit chain OK: events ${result.first_seq} to ${result.last_seq} (${result.events})` +
        `${result.first_seq !== 1 ? `; the export starts at event ${result.first_seq}, so its link to the one before is not checked` : ''}` +
        `${result.duplicates ? `; ${result.duplicates} duplicate(s) of a resent batch, identical` : ''}` +
        `${result.redacted ? `; ${result.redacted} event(s) redacted by the export policy: their links verify, their content cannot (export with policy raw to check it)` : ''}\n`,
    );
  } else {
    process.stdout.write(`exported audit chain BROKEN at event ${result.first_broken_seq}: ${result.problem}\n`);
  }
  return result.ok ? EXIT_OK : EXIT_PARTIAL;
}

/** An export of a ClickHouse store: each instance's chain verified on its own. */
function verifyExportedChains(chains: Map<string, AuditRow[]>, o: { file: string; lines: number; unreadable: number; key?: string; json?: boolean }): number {
  const results = [...chains].sort(([a], [b]) => a.localeCompare(b)).map(([chain, rows]) => ({ chain, ...verifyExportedChain(rows, o.key) }));
  const ok = results.every((r) => r.ok);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ok, chains: results, lines: o.lines, unreadable_lines: o.unreadable }, null, 2)}\n`);
  } else {
    const lines = results.map((r) =>
      r.ok
        ? `  ${r.chain}: OK, events ${r.first_seq} to ${r.last_seq} (${r.events})${r.first_seq !== 1 ? `; starts at event ${r.first_seq}, its link to the one before not checked` : ''}${r.duplicates ? `; ${r.duplicates} duplicate(s), identical` : ''}${r.redacted ? `; ${r.redacted} redacted by the export policy (links verify, content cannot)` : ''}`
        : `  ${r.chain}: BROKEN at event ${r.first_broken_seq}: ${r.problem}`,
    );
    process.stdout.write(`exported audit chains ${ok ? 'OK' : 'BROKEN'}: ${results.length} chain(s), one per instance\n${lines.join('\n')}\n`);
  }
  return ok ? EXIT_OK : EXIT_PARTIAL;
}

async function withClickHouse<T>(location: StoreLocation & { engine: 'clickhouse' | 'chdb' }, config: Config, task: (store: ClickHouseStore) => Promise<T>): Promise<T> {
  const store = await ClickHouseStore.open(location, config.clock);
  try {
    return await task(store);
  } finally {
    await store.close();
  }
}
