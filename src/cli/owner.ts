import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseLockedError, UserInputError } from '../errors.js';
import { Store } from '../store/store.js';
import { requireDatabase, storeOptions, type Config } from './config.js';
import { VERSION } from '../version.js';

/**
 * One process owns a database file (DuckDB lets one process write it). The owner says so in a
 * small file beside the database, with the loopback URL where it answers and a token: every
 * other door to that database (a second stdio serve, connect, the read-only commands) goes
 * through it. The file is readable by its OS user only, the same people who can read the
 * database itself, so holding the token proves no more than reading the file would.
 */
export interface OwnerRecord {
  pid: number;
  url: string;
  token: string;
  version: string;
  started_at: string;
}

export const ownerPath = (dbPath: string) => `${dbPath}.owner.json`;

/** Header a bridge holding the owner token names its caller with (the owner gives the role). */
export const AS_HEADER = 'x-blackbox-as';

export function newOwnerToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Writes the owner file (atomically, 0600); returns what removes it, once, only if it is still ours. */
export function advertiseOwner(dbPath: string, url: string, token: string): () => void {
  const record: OwnerRecord = { pid: process.pid, url, token, version: VERSION, started_at: new Date().toISOString() };
  const path = ownerPath(dbPath);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(record), { mode: 0o600 });
  renameSync(temporary, path);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    try {
      if ((JSON.parse(readFileSync(path, 'utf8')) as OwnerRecord).pid === process.pid) rmSync(path, { force: true });
    } catch {
      // Already gone, or replaced by the next owner: nothing of ours to remove.
    }
  };
}

/**
 * The live owner of a database, or undefined when there is none: no file, or a stale one (its
 * process is gone, or it does not answer), as a crash leaves behind.
 */
export async function findOwner(dbPath: string): Promise<OwnerRecord | undefined> {
  let record: OwnerRecord;
  try {
    record = JSON.parse(readFileSync(ownerPath(dbPath), 'utf8')) as OwnerRecord;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(record.pid) || typeof record.url !== 'string' || typeof record.token !== 'string') return undefined;
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  try {
    const response = await fetch(new URL('/healthz', record.url), { signal: AbortSignal.timeout(3_000) });
    await response.arrayBuffer();
    return response.ok ? record : undefined;
  } catch {
    return undefined;
  }
}

export interface CommandOutput {
  text: string;
  code: number;
}

/** Runs a read-only command (summary, quarantine, audit-verify) in the owner, which has the database open. */
export async function runOnOwner(owner: OwnerRecord, command: string, args: Record<string, unknown>): Promise<CommandOutput> {
  const response = await fetch(new URL(`/v1/cli/${command}`, owner.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
    signal: AbortSignal.timeout(120_000),
  });
  const body = (await response.json().catch(() => ({}))) as Partial<CommandOutput> & { error?: string };
  if (!response.ok || typeof body.text !== 'string') {
    throw new UserInputError(`The server that owns the database (PID ${owner.pid}, ${owner.url}) could not run ${command}: ${body.error ?? `HTTP ${response.status}`}`);
  }
  return { text: body.text, code: body.code ?? 0 };
}

/**
 * Runs a read-only command on the database: here when this process can open it, else in the
 * server that owns it (the file is in use), so `summary` works while a server runs.
 */
export async function onStoreOrOwner(
  config: Config,
  command: string,
  args: Record<string, unknown>,
  local: (store: Store) => Promise<CommandOutput>,
): Promise<CommandOutput> {
  requireDatabase(config);
  let store: Store;
  try {
    store = await Store.open(storeOptions(config));
  } catch (error) {
    if (!(error instanceof DatabaseLockedError)) throw error;
    const owner = await findOwner(config.dbPath);
    if (!owner) throw error;
    return runOnOwner(owner, command, args);
  }
  try {
    return await local(store);
  } finally {
    await store.close();
  }
}
