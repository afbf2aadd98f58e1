import { createHash } from 'node:crypto';
import { TERMINAL_STATUSES } from '../../model.js';
import { rejectSummary, type BatchResult, type CommitOptions, type StorableBatch } from '../ingest-write.js';
import type { ClickHouseDb } from './client.js';
import { hourOf, hourText } from './hour.js';
import { markHours } from './rollup.js';
import { toolListHash, type ToolList } from '../catalog.js';

type Json = Record<string, any>;

const TERMINAL = new Set<string>(TERMINAL_STATUSES);
const RFC3339 = /^(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:?\d\d)$/;

/** Microseconds since the epoch of an RFC 3339 time the validator accepted (DuckDB keeps microseconds too). */
export function epochMicros(text: string): bigint {
  const match = RFC3339.exec(text);
  const ms = Date.parse(match ? `${match[1]}${match[3]}` : text);
  const fraction = (match?.[2] ?? '').padEnd(6, '0').slice(0, 6);
  return BigInt(ms) * 1000n + BigInt(fraction);
}

const ENDED_BITS = 52n;
const TIE_BITS = 10n;

/**
 * The row version ClickHouse keeps the highest of: the log format's rule as one number. A
 * terminal status outranks `running` (bit 62), then the later ended_at (52 bits of microseconds,
 * to the year 2112). An exact tie between two different records (the format leaves it open) is
 * broken by their content, so every instance and every arrival order keeps the same one; DuckDB
 * keeps the first stored. A byte-identical repeat has the same version and changes nothing.
 */
export function executionVersion(status: string, endedAt: string | undefined, content: string): bigint {
  const terminal = TERMINAL.has(status) ? 1n : 0n;
  const ended = endedAt ? epochMicros(endedAt) : 0n;
  const clamped = ended < 0n ? 0n : ended >= 1n << ENDED_BITS ? (1n << ENDED_BITS) - 1n : ended;
  const tie = BigInt(createHash('md5').update(content).digest().readUInt16BE(0)) & ((1n << TIE_BITS) - 1n);
  return (terminal << 62n) | (clamped << TIE_BITS) | tie;
}

const ms = (micros: bigint) => micros / 1000n;

/** A staged record (ingest/prepare.ts: validated, with __line, __tasks, __tasks_given, __attributes) as a row of executions. */
export function executionRow(line: string, source: string, ingestedAt: string): { row: Json; version: bigint; id: string } {
  const r = JSON.parse(line) as Json;
  // The line number differs between deliveries of the same record; the version must not.
  const content = line.slice(line.indexOf(',"__tasks"'));
  const version = executionVersion(r.status, r.ended_at, content);
  const started = epochMicros(r.started_at);
  const ended = r.ended_at ? epochMicros(r.ended_at) : undefined;
  const steps: Json[] = Array.isArray(r.steps) ? r.steps : [];
  const failing = steps
    .filter((s) => (s.status === 'failed' || s.status === 'terminated') && typeof s.connector === 'string')
    .sort((a, b) => a.index - b.index)[0];
  const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
  const row: Json = {
    execution_id: r.execution_id,
    started_at: r.started_at,
    ended_at: r.ended_at ?? null,
    duration_ms: r.duration_ms ?? (ended !== undefined && ended >= started ? Number(ms(ended) - ms(started)) : null),
    status: r.status,
    tool_name: r.tool.name,
    tool_kind: r.tool.kind ?? 'connector',
    tool_server: r.tool.server ?? null,
    user_id: r.user.id,
    user_email: r.user.email ?? null,
    user_name: r.user.name ?? null,
    user_team: r.user.team ?? null,
    agent_client: r.agent?.client ?? null,
    agent_session_id: r.agent?.session_id ?? null,
    agent_workflow_run_id: r.agent?.workflow_run_id ?? null,
    environment: r.environment ?? null,
    via_mcp: r.via_mcp ?? true,
    tasks: r.__tasks,
    tasks_given: r.__tasks_given,
    cost_usd: r.cost_usd ?? null,
    input: json(r.input),
    output: json(r.output),
    error_type: r.error?.type ?? null,
    error_message: r.error?.message ?? null,
    error_layer: r.error?.layer ?? null,
    attributes: json(r.__attributes),
    steps: JSON.stringify(steps),
    step_count: steps.length,
    failing_connector: failing?.connector ?? null,
    source,
    ingested_at: ingestedAt,
    version: version.toString(),
  };
  return { row, version, id: r.execution_id };
}

function* stagedLines(staging: Buffer): Generator<string> {
  let start = 0;
  while (start < staging.length) {
    let end = staging.indexOf(0x0a, start);
    if (end === -1) end = staging.length;
    if (end > start) yield staging.toString('utf8', start, end);
    start = end + 1;
  }
}

/**
 * Stores a prepared batch in ClickHouse: the same validation and quarantine as for DuckDB ran
 * in Node before (prepareBatch), so only valid rows reach ClickHouse. Resolves once ClickHouse
 * has confirmed every insert: the records first, then the quarantined lines.
 *
 * The counts compare each execution's best version in the batch with the best stored one (a
 * read by key before the insert); only the rows that outrank what is stored are sent. Another
 * writer storing the same ids at the same moment can make a count off by its rows, never the
 * data: ClickHouse keeps the highest version whichever insert lands last.
 */
export async function commitBatchClickHouse(ch: ClickHouseDb, batch: StorableBatch, options: Pick<CommitOptions, 'source'>): Promise<BatchResult> {
  const ingestedAt = new Date().toISOString();
  const best = new Map<string, { row: Json; version: bigint }>();
  let valid = 0;
  for (const line of stagedLines(batch.staging)) {
    if (valid === batch.valid) break;
    valid++;
    const { row, version, id } = executionRow(line, options.source, ingestedAt);
    const held = best.get(id);
    // Equal versions: the earlier line stays, as in DuckDB.
    if (!held || version > held.version) best.set(id, { row, version });
  }
  const stored = new Map<string, bigint>();
  const ids = [...best.keys()];
  for (let i = 0; i < ids.length; i += 10_000) {
    const rows = await ch.all<{ id: string; v: string }>(
      `SELECT execution_id AS id, toString(max(version)) AS v FROM ${ch.t('executions')} WHERE execution_id IN {ids:Array(String)} GROUP BY execution_id`,
      { ids: ids.slice(i, i + 10_000) },
    );
    for (const r of rows) stored.set(r.id, BigInt(r.v));
  }
  let inserted = 0;
  let updated = 0;
  const rows: Json[] = [];
  const replaced: string[] = [];
  // The rollup's hours this batch changes: where each winner counts, and (below) where each version it replaces counted.
  const hours = new Set<string>();
  for (const [id, { row, version }] of best) {
    const previous = stored.get(id);
    if (previous === undefined) inserted++;
    else if (version > previous) {
      updated++;
      replaced.push(id);
    } else continue;
    hours.add(hourText(epochMicros(row.started_at)));
    rows.push(row);
  }
  // Where the versions this batch replaces counted: asked only for the replaced ids, a few per
  // batch (reading every stored id's start cost a third more). Asked again after the insert, for
  // a version another writer stored meanwhile, which a refresh may have counted.
  const replacedHours = async () => {
    for (let i = 0; i < replaced.length; i += 10_000) {
      const found = await ch.all<{ hour: string }>(
        `SELECT DISTINCT toString(${hourOf('started_at')}) AS hour FROM ${ch.t('executions')} WHERE execution_id IN {ids:Array(String)}`,
        { ids: replaced.slice(i, i + 10_000) },
      );
      for (const r of found) hours.add(r.hour);
    }
  };
  await replacedHours();
  // Marked before the insert and again after it (rollup.ts says why both).
  await markHours(ch, hours);
  await ch.insert('executions', rows);
  await replacedHours();
  await markHours(ch, hours);
  await ch.insert(
    'quarantine',
    batch.rejects.map((r) => ({
      source: options.source,
      line_no: r.lineNo,
      reason: r.reason,
      raw: r.raw,
      raw_md5: createHash('md5').update(r.raw).digest('hex'),
      quarantined_at: ingestedAt,
    })),
  );
  await storeToolLists(ch, batch.toolLists, ingestedAt);
  return {
    inserted,
    updated,
    duplicates: valid - inserted - updated,
    deferred: 0,
    lines: valid + batch.rejects.length + batch.toolLists.length,
    tool_lists: batch.toolLists.length,
    ...rejectSummary(batch.rejects),
  };
}

/** Tool lists (the tool_catalog record type): their tools join the catalog, and each sighting is kept. */
async function storeToolLists(ch: ClickHouseDb, lists: readonly ToolList[], listedAt: string): Promise<void> {
  if (lists.length === 0) return;
  await ch.insert('catalog_tools', lists.flatMap((l) => l.tools.map((t) => ({ name: t.name, server: l.server, kind: 'connector', listed_at: listedAt }))));
  await ch.insert('tool_definition_sightings', lists.flatMap((l) => l.tools.map((t) => ({
    server: l.server, name: t.name, description: t.description ?? null, input_schema_sha256: t.input_schema_sha256 ?? null, seen_at: l.seen_at,
  }))));
  await ch.insert('tool_list_sightings', lists.map((l) => ({ server: l.server, tools_sha256: toolListHash(l), tool_count: l.tools.length, seen_at: l.seen_at })));
}
