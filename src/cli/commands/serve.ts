import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Command, Option } from 'commander';
import { AccessList } from '../../access/access-file.js';
import { LOCAL_CALLER, type Caller } from '../../access/caller.js';
import { fixedClock } from '../../clock.js';
import { UserInputError } from '../../errors.js';
import { loadCatalogFile } from '../../ingest/catalog-file.js';
import { ingestFiles } from '../../ingest/files.js';
import { LogTailer } from '../../ingest/tailer.js';
import { createServer } from '../../mcp/server.js';
import { SAMPLE_ANCHOR } from '../../sample/fleet.js';
import { Store } from '../../store/store.js';
import { auditMirrorPath, ENV, resolveConfig, type CommonFlags, type Config } from '../config.js';
import { AuditLog } from '../../access/audit.js';
import { formatIngestSummary } from './ingest.js';
import { fleetSummaryText } from './summary.js';
import type { RunWrapper } from '../main.js';

interface ServeFlags extends CommonFlags {
  watch?: string[];
  catalog?: string;
  as?: string;
  access?: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The caller of a stdio session: from the access file when there is one, else local single-user mode. */
export function stdioCaller(flags: ServeFlags, env: NodeJS.ProcessEnv): Caller {
  const accessPath = flags.access ?? env[ENV.access];
  const userId = flags.as ?? env[ENV.user];
  if (!accessPath) {
    if (userId && userId !== LOCAL_CALLER.id) {
      throw new UserInputError(`--as ${userId} needs an access file (--access or MCP_BLACKBOX_ACCESS) that gives the user a role; without one the server runs in single-user mode as "local".`);
    }
    return LOCAL_CALLER;
  }
  return AccessList.load(accessPath).callerFor(userId);
}

async function serveStdio(store: Store, config: Config, flags: ServeFlags): Promise<void> {
  const caller = stdioCaller(flags, process.env);
  if (flags.catalog) log(`catalog: ${await loadCatalogFile(store, flags.catalog)} tools from ${flags.catalog}`);
  const tailer = flags.watch?.length
    ? new LogTailer(store, {
        dirs: flags.watch,
        onError: (path, error) => log(`watch: ${path}: ${error instanceof Error ? error.message : String(error)}`),
      })
    : undefined;
  if (tailer) {
    await tailer.start();
    log(`watching ${flags.watch!.join(', ')} for *.jsonl / *.ndjson`);
  }
  const audit = new AuditLog(store, { key: config.auditKey, mirrorPath: store.path === ':memory:' ? undefined : auditMirrorPath(config.dbPath) });
  const server = createServer({ store, clock: config.clock, caller, log, audit, access: { redactSecrets: config.redactSecrets } });
  const transport = new StdioServerTransport();
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await tailer?.stop();
    await server.close().catch(() => undefined);
    await store.close();
    process.exit(0);
  };
  transport.onclose = () => void shutdown();
  process.stdin.on('end', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  await server.connect(transport);
  log(`mcp-blackbox serving MCP on stdio as ${caller.id} (${caller.role}), database ${config.dbPath}`);
}

/** sample-logs/ of this package, wherever it is installed. */
function sampleLogsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', '..', 'sample-logs');
}

export function clientSnippet(dbPath: string, now?: string): string {
  const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
  const args = [cli, 'serve', '--db', dbPath, ...(now ? ['--now', now] : [])];
  return JSON.stringify({ mcpServers: { blackbox: { command: process.execPath, args } } }, null, 2);
}

export function registerServeCommands(
  program: Command,
  helpers: { dbOption: () => Option; nowOption: () => Option; run: RunWrapper },
): void {
  program
    .command('serve')
    .description('Serve the MCP tools over stdio (the transport MCP clients launch)')
    .addOption(helpers.dbOption())
    .addOption(helpers.nowOption())
    .option('--watch <dir...>', 'tail *.jsonl / *.ndjson files in these directories into the database')
    .option('--catalog <file>', 'JSON list of the tools the fleet offers, so never-used tools show as unused')
    .option('--as <user>', `the calling user, given a role by the access file (env MCP_BLACKBOX_USER)`)
    .option('--access <file>', 'access file: users, roles, token hashes (env MCP_BLACKBOX_ACCESS)')
    .action(
      helpers.run(async (flags: ServeFlags) => {
        const config = resolveConfig(flags, process.env);
        const store = await Store.open({ path: config.dbPath, clock: config.clock, memoryLimit: config.memoryLimit });
        try {
          await serveStdio(store, config, flags);
        } catch (error) {
          await store.close();
          throw error;
        }
        await new Promise<never>(() => undefined); // runs until the client disconnects
      }),
    );

  program
    .command('demo')
    .description('Ingest the bundled sample fleet, print a fleet summary and a client config, then serve MCP on stdio')
    .addOption(helpers.dbOption())
    .addOption(helpers.nowOption())
    .action(
      helpers.run(async (flags: CommonFlags) => {
        const now = flags.now ?? process.env[ENV.now] ?? SAMPLE_ANCHOR;
        const config = { ...resolveConfig(flags, process.env), clock: fixedClock(new Date(now)) };
        const samples = sampleLogsDir();
        if (!existsSync(samples)) throw new Error(`sample logs not found at ${samples}`);
        const store = await Store.open({ path: config.dbPath, clock: config.clock, memoryLimit: config.memoryLimit });
        try {
          const started = performance.now();
          const summary = await ingestFiles(store, [samples]);
          log(formatIngestSummary(summary, (performance.now() - started) / 1000, config.dbPath));
          await loadCatalogFile(store, join(samples, 'catalog.json'));
          log(await fleetSummaryText(store, config.clock, '7d'));
          log(`"Now" is pinned to ${now}, the end of the sample period. Add this server to Claude Desktop`);
          log(`(claude_desktop_config.json), Cursor (.cursor/mcp.json) or any MCP client:\n`);
          log(clientSnippet(config.dbPath, now));
          log('\nServing MCP on stdio now (Ctrl-C to stop); clients launch their own copy with the snippet above.');
          await serveStdio(store, config, {});
        } catch (error) {
          await store.close();
          throw error;
        }
        await new Promise<never>(() => undefined);
      }),
    );
}
