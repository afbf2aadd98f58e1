import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTwoFilesPatch } from 'diff';
import { UserInputError } from '../../errors.js';
import { CLIENTS, clientConfig, planSetup, planUndo, type ClientName } from '../../record/setup.js';
import { ENV } from '../config.js';
import { wrapUser } from './wrap.js';

export interface SetupFlags {
  config?: string;
  dryRun?: boolean;
  undo?: boolean;
  db?: string;
  user?: string;
}

/** This CLI as a client runs it: node and the absolute path of the built entry point. */
function self(): [string, string] {
  return [process.execPath, resolve(dirname(fileURLToPath(import.meta.url)), '..', 'main.js')];
}

/**
 * What setup remembers beside the config: the original bytes (the backup) and the hash of what it
 * wrote, so that undo gives back the original byte for byte when nobody edited the file since,
 * and otherwise takes out only what setup put in.
 */
interface SetupState {
  client: ClientName;
  backup: string;
  written_sha256: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function setupCommand(client: string, flags: SetupFlags): Promise<number> {
  if (!(CLIENTS as readonly string[]).includes(client)) {
    throw new UserInputError(`setup takes one of ${CLIENTS.join(', ')}; got ${JSON.stringify(client)}`);
  }
  const known = clientConfig(client as ClientName);
  const path = resolve(flags.config ?? known.path);
  const statePath = `${path}.mcp-blackbox.json`;
  const backupPath = `${path}.mcp-blackbox.bak`;
  const exists = existsSync(path);
  const current = exists ? readFileSync(path, 'utf8') : '';
  const out = (line: string) => process.stdout.write(`${line}\n`);

  if (flags.undo) {
    const state = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as SetupState) : undefined;
    let text: string;
    if (state && sha256(current) === state.written_sha256 && existsSync(state.backup)) {
      text = readFileSync(state.backup, 'utf8');
      out(`${path}: restored as it was before setup (from ${state.backup})`);
    } else {
      const plan = planUndo(current, { key: known.key, self: self(), client: client as ClientName });
      text = plan.text;
      out(`${path}: edited since setup; ${plan.unwrapped.length ? `unwrapped ${plan.unwrapped.join(', ')}` : 'nothing wrapped'}${plan.removedSelf ? ', removed the blackbox entry' : ''}`);
    }
    printDiff(path, current, text, out);
    if (!flags.dryRun && text !== current) writeFileSync(path, text);
    return 0;
  }

  const user = wrapUser({ user: flags.user }, process.env);
  const db = resolve(flags.db ?? process.env[ENV.db] ?? join(process.env.HOME || homedir(), '.mcp-blackbox', 'blackbox.duckdb'));
  const plan = planSetup(current, { client: client as ClientName, key: known.key, self: self(), db, user });
  for (const name of plan.wrapped) out(`recorded: ${name} (now runs through wrap, as user ${user})`);
  for (const name of plan.alreadyWrapped) out(`recorded: ${name} (already)`);
  for (const name of plan.remote) out(`not recorded (remote): ${name}`);
  out(plan.addedSelf ? `added: blackbox (serve --db ${db} --as ${user})` : 'blackbox entry: already there');
  if (plan.text === current) {
    out(`${path}: nothing to change`);
    return 0;
  }
  printDiff(path, current, plan.text, out);
  if (flags.dryRun) {
    out('(dry run: nothing written)');
    return 0;
  }
  mkdirSync(dirname(path), { recursive: true });
  // The first setup keeps the original; a second one on an already-set-up file must not overwrite it.
  const state: SetupState | undefined = existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : undefined;
  if (!state || !existsSync(state.backup)) writeFileSync(backupPath, current, { mode: 0o600 });
  writeFileSync(path, plan.text);
  writeFileSync(statePath, JSON.stringify({ client: client as ClientName, backup: state?.backup ?? backupPath, written_sha256: sha256(plan.text) } satisfies SetupState, null, 2), { mode: 0o600 });
  out(`${path}: written (backup ${state?.backup ?? backupPath}; mcp-blackbox setup ${client} --undo puts it back). Restart ${client} to load it.`);
  return 0;
}

function printDiff(path: string, before: string, after: string, out: (line: string) => void): void {
  if (before === after) return;
  out(createTwoFilesPatch(path, path, before, after, 'before', 'after', { context: 2 }).trimEnd());
}
