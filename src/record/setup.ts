import { homedir } from 'node:os';
import { join } from 'node:path';
import { applyEdits, modify, parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { UserInputError } from '../errors.js';

/**
 * `mcp-blackbox setup <client>`: rewrites a client's MCP config so that every stdio server runs
 * through `wrap`, and adds the blackbox server itself. The config is edited in place as text
 * (jsonc-parser's edits): comments, key order and formatting outside the changed entries stay as
 * they were, so the diff shows only what setup changed and undo can give the file back.
 */

export const CLIENTS = ['claude-desktop', 'cursor', 'vscode', 'claude-code'] as const;
export type ClientName = (typeof CLIENTS)[number];

/** Where each client keeps its user-level MCP config, and under which key its servers are. */
export function clientConfig(client: ClientName, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): { path: string; key: string } {
  const home = env.HOME || homedir();
  const appData = env.APPDATA || join(home, 'AppData', 'Roaming');
  const userConfig = platform === 'darwin' ? join(home, 'Library', 'Application Support') : platform === 'win32' ? appData : env.XDG_CONFIG_HOME || join(home, '.config');
  switch (client) {
    case 'claude-desktop':
      return { path: join(userConfig, 'Claude', 'claude_desktop_config.json'), key: 'mcpServers' };
    case 'cursor':
      return { path: join(home, '.cursor', 'mcp.json'), key: 'mcpServers' };
    case 'vscode':
      return { path: join(userConfig, 'Code', 'User', 'mcp.json'), key: 'servers' };
    case 'claude-code':
      return { path: join(home, '.claude.json'), key: 'mcpServers' };
  }
}

export interface SetupOptions {
  client: ClientName;
  /** The servers' key in the config (mcpServers, or servers for VS Code). */
  key: string;
  /** How to run this CLI: [node, /abs/dist/cli/main.js]. */
  self: [string, string];
  db: string;
  /** The person recording and asking: wrap's --user and serve's --as, so both name the same user. */
  user: string;
  /** The name of the blackbox server's own entry. */
  name?: string;
}

export interface SetupPlan {
  text: string;
  wrapped: string[];
  alreadyWrapped: string[];
  remote: string[];
  addedSelf: boolean;
}

type Entry = Record<string, unknown>;

const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } };

/**
 * The objects of servers in a config, with their JSON paths: the one under `key`, and for Claude
 * Code also each project's (`projects[<dir>].mcpServers` in ~/.claude.json). `label` names an
 * entry in what setup prints.
 */
function serverMaps(text: string, key: string, client: ClientName): Array<{ path: string[]; servers: Record<string, Entry>; label: (name: string) => string }> {
  const config = parseConfig(text);
  const maps = [{ path: [key], servers: serversAt(config, [key]), label: (name: string) => name }];
  const projects = config.projects;
  if (client === 'claude-code' && projects && typeof projects === 'object' && !Array.isArray(projects)) {
    for (const dir of Object.keys(projects)) {
      const path = ['projects', dir, 'mcpServers'];
      maps.push({ path, servers: serversAt(config, path), label: (name: string) => `${name} (project ${dir})` });
    }
  }
  return maps;
}

/** The config with every stdio entry wrapped and the blackbox entry added; the same text when there is nothing to do. */
export function planSetup(original: string, options: SetupOptions): SetupPlan {
  const maps = serverMaps(original, options.key, options.client);
  const name = options.name ?? 'blackbox';
  const plan: SetupPlan = { text: original.trim() === '' ? '{}\n' : original, wrapped: [], alreadyWrapped: [], remote: [], addedSelf: false };
  for (const { path, servers, label } of maps) {
    for (const [server, entry] of Object.entries(servers)) {
      if (server === name) continue;
      if (isRemote(entry)) {
        plan.remote.push(label(server));
        continue;
      }
      if (isWrapped(entry, options.self)) {
        plan.alreadyWrapped.push(label(server));
        continue;
      }
      const args = Array.isArray(entry.args) ? entry.args.map(String) : [];
      plan.text = set(plan.text, [...path, server, 'command'], options.self[0]);
      plan.text = set(plan.text, [...path, server, 'args'], [options.self[1], 'wrap', '--server', server, '--user', options.user, '--', String(entry.command), ...args]);
      plan.wrapped.push(label(server));
    }
  }
  // The blackbox server itself once, at the user level: every project sees it.
  if (!maps[0]!.servers[name]) {
    const entry: Entry = { command: options.self[0], args: [options.self[1], 'serve', '--db', options.db, '--as', options.user] };
    if (options.key === 'servers') entry.type = 'stdio';
    plan.text = set(plan.text, [options.key, name], entry);
    plan.addedSelf = true;
  }
  return plan;
}

export interface UndoPlan {
  text: string;
  unwrapped: string[];
  removedSelf: boolean;
}

/** The config with every wrapped entry given back its own command and the blackbox entry removed. */
export function planUndo(current: string, options: Pick<SetupOptions, 'key' | 'self' | 'name' | 'client'>): UndoPlan {
  const maps = serverMaps(current, options.key, options.client);
  const name = options.name ?? 'blackbox';
  const plan: UndoPlan = { text: current, unwrapped: [], removedSelf: false };
  for (const { path, servers, label } of maps) {
    for (const [server, entry] of Object.entries(servers)) {
      if (server === name || !isWrapped(entry, options.self)) continue;
      const args = (entry.args as string[]).slice();
      const dashes = args.indexOf('--');
      const [command, ...rest] = args.slice(dashes + 1);
      plan.text = set(plan.text, [...path, server, 'command'], command);
      plan.text = set(plan.text, [...path, server, 'args'], rest);
      plan.unwrapped.push(label(server));
    }
  }
  const own = maps[0]!.servers[name];
  if (own && Array.isArray(own.args) && own.args[0] === options.self[1] && own.args[1] === 'serve') {
    plan.text = set(plan.text, [options.key, name], undefined);
    plan.removedSelf = true;
  }
  return plan;
}

function parseConfig(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const errors: ParseError[] = [];
  const config = parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new UserInputError(`the config is not valid JSON: ${printParseErrorCode(first.error)} at offset ${first.offset}; fix it (or give another with --config) and run setup again`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new UserInputError('the config is not a JSON object');
  return config as Record<string, unknown>;
}

function serversAt(config: Record<string, unknown>, path: string[]): Record<string, Entry> {
  const servers = path.reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), config);
  if (servers === undefined) return {};
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) throw new UserInputError(`"${path.join('.')}" in the config is not an object of servers`);
  return Object.fromEntries(Object.entries(servers as Record<string, unknown>).filter(([, e]) => typeof e === 'object' && e !== null)) as Record<string, Entry>;
}

/** An entry the client reaches over the network: nothing for a local proxy to sit in front of. */
function isRemote(entry: Entry): boolean {
  return typeof entry.url === 'string' || entry.type === 'http' || entry.type === 'sse' || entry.type === 'streamable-http' || typeof entry.command !== 'string';
}

function isWrapped(entry: Entry, self: [string, string]): boolean {
  return Array.isArray(entry.args) && entry.args[0] === self[1] && entry.args[1] === 'wrap' && entry.args.includes('--');
}

function set(text: string, path: string[], value: unknown): string {
  return applyEdits(text, modify(text, path, value, FORMAT));
}

