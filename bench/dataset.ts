import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { generateLines } from '../src/sample/generate.js';

/** The bench data ends here, and "now" is pinned to it, so 7d and 30d windows hold data. */
export const BENCH_ANCHOR = '2026-11-01T00:00:00Z';
export const BENCH_DAYS = 60;

/**
 * One execution as the bench's live loads write it (live-writer.js, random-ids.js): a connector
 * call with small payloads, for one of 50 users in one of 500 sessions, picked by `n`. A running
 * record has no end yet.
 */
export function liveRecord(id: string, startedAtMs: number, status: 'running' | 'succeeded' | 'failed', n: number): string {
  return JSON.stringify({
    execution_id: id,
    started_at: new Date(startedAtMs).toISOString(),
    ...(status === 'running' ? {} : { ended_at: new Date(startedAtMs + 800).toISOString() }),
    status,
    tool: { name: 'github_search_code', kind: 'connector', server: 'eng-gateway' },
    user: { id: `u_live_${n % 50}`, team: 'eng' },
    agent: { client: 'cursor', session_id: `s_${n % 500}` },
    input: { query: `search ${n}`, repo: 'acme/platform' },
    output: { items: n % 40 },
  });
}

/**
 * N executions of the sample fleet over 60 days, with steps and payloads of a few hundred bytes,
 * 2% repeated lines, 1% running-then-final pairs and 0.1% bad lines. Returns lines written.
 */
export async function writeDataset(path: string, executions: number): Promise<{ lines: number; bytes: number }> {
  const out = createWriteStream(path);
  // Weekdays carry 3x the weekend load; 60 days hold ~47 weekday-equivalents.
  const perWeekday = Math.ceil((executions / 47) * 1.02);
  let lines = 0;
  let bytes = 0;
  let produced = 0;
  for (const line of generateLines({ anchor: BENCH_ANCHOR, days: BENCH_DAYS, perWeekday, seed: 11, runningFirstRate: 0.01, repeatRate: 0.02, badLineRate: 0.001 })) {
    if (!out.write(`${line}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
    lines++;
    bytes += Buffer.byteLength(line) + 1;
    if (!line.includes('"status":"running"')) produced++;
    if (produced >= executions) break;
  }
  await new Promise<void>((r) => out.end(() => r()));
  return { lines, bytes };
}

/**
 * The same file with random (UUIDv4-shaped) execution ids instead of the generator's time-ordered
 * ones. The ingest cost depends on the id shape (the primary-key index inserts time-ordered keys
 * cheaply), and UUIDv4 ids are common. Each id maps to one UUID, so repeats and running-then-final
 * pairs still share theirs.
 */
export async function withRandomIds(source: string, dest: string): Promise<void> {
  const out = createWriteStream(dest);
  const uuid = (id: string) => {
    const h = createHash('md5').update(id).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  for await (const line of createInterface({ input: createReadStream(source), crlfDelay: Infinity })) {
    const rewritten = line.replace(/"execution_id":"([^"\\]*)"/, (_, id: string) => `"execution_id":"${uuid(id)}"`);
    if (!out.write(`${rewritten}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
}
