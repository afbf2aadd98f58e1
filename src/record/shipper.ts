import { appendFile, mkdir, open, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Json } from './recorder.js';

/** Where `wrap` writes records when no server takes them, and where `serve` reads them from by default. */
export function defaultSpoolDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.HOME || homedir(), '.mcp-blackbox', 'spool');
}

export interface ShipperOptions {
  /** Base URL of the server that owns the database (records go to `${url}/v1/executions`). */
  url?: string;
  token?: string;
  spoolDir: string;
  /** Records per POST (default 50) and the longest a record waits for its batch (default 200 ms). */
  batchSize?: number;
  flushMs?: number;
  /** Waits between attempts of one batch; after the last failure the batch goes to the spool. */
  retryDelaysMs?: readonly number[];
  /** Where failures are reported (stderr): recording never stops the session. */
  log: (line: string) => void;
}

/**
 * Takes records and gets them to the database's owner without ever blocking the traffic:
 * batches are POSTed to its ingest endpoint, retried with backoff, and when the server cannot be
 * reached (or no URL is set) appended to a spool file of this process, NDJSON, which the server
 * ingests from its spool directory and `mcp-blackbox ingest` reads like any log. A record is in
 * the database or in the spool, never dropped; one that reaches both is stored once (ingest is
 * idempotent by execution_id).
 */
export class Shipper {
  private queue: Json[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private spoolFile: FileHandle | undefined;
  private readonly spoolPath: string;
  private reportedDown = false;

  constructor(private readonly options: ShipperOptions) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    this.spoolPath = join(options.spoolDir, `wrap-${stamp}-${process.pid}.jsonl`);
  }

  push(record: Json): void {
    this.queue.push(record);
    if (this.queue.length >= (this.options.batchSize ?? 50)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.flushMs ?? 200);
  }

  /** Sends what is queued; resolves when everything pushed so far is in the database or the spool. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length > 0) this.chain = this.chain.then(() => this.deliver(batch)).catch((error) => this.options.log(`wrap: recording failed: ${String(error)}`));
    return this.chain;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.spoolFile?.close().catch(() => undefined);
    this.spoolFile = undefined;
  }

  /** The spool file of this process (it exists once a record was spooled). */
  get spool(): string {
    return this.spoolPath;
  }

  private async deliver(batch: Json[]): Promise<void> {
    const body = batch.map((r) => JSON.stringify(r)).join('\n') + '\n';
    if (this.options.url && (await this.post(body))) return;
    await this.append(body);
  }

  private async post(body: string): Promise<boolean> {
    const delays = this.options.retryDelaysMs ?? [250, 1000, 4000];
    const target = new URL('/v1/executions', this.options.url).toString();
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      let problem: string;
      try {
        const response = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          if (this.reportedDown) this.options.log(`wrap: ${target} takes records again`);
          this.reportedDown = false;
          return true;
        }
        problem = `HTTP ${response.status}`;
        // Refused for what it is (bad token, bad record): retrying will not help, the spool keeps it.
        if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) break;
      } catch (error) {
        problem = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      }
      if (attempt === delays.length) {
        this.report(`wrap: ${target} did not take ${body.split('\n').length - 1} records (${problem}); they are in ${this.spoolPath}`);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
      continue;
    }
    this.report(`wrap: ${target} refused records; they are in ${this.spoolPath}`);
    return false;
  }

  private report(line: string): void {
    if (!this.reportedDown) this.options.log(line);
    this.reportedDown = true;
  }

  private async append(body: string): Promise<void> {
    if (!this.spoolFile) {
      await mkdir(this.options.spoolDir, { recursive: true, mode: 0o700 });
      // Payloads are sensitive: the spool is readable by its owner only.
      this.spoolFile = await open(this.spoolPath, 'a', 0o600);
    }
    await appendFile(this.spoolFile, body);
    await this.spoolFile.datasync().catch(() => undefined);
  }
}
