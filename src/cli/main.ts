#!/usr/bin/env node
import { Command, Option } from 'commander';
import { isExpected } from '../errors.js';
import { VERSION } from '../version.js';
import { ENV } from './config.js';
import { EXIT_CANNOT_RUN } from './exit-codes.js';
import { registerServeCommands } from './commands/serve-command.js';
import type { WrapFlags } from './commands/wrap.js';

// Each command's code is imported when it runs: the store and the server take most of a second
// to load, which `wrap` (started with every wrapped server) and `setup` must not pay.
const ingestCommand = async (...args: Parameters<typeof import('./commands/ingest.js').ingestCommand>) => (await import('./commands/ingest.js')).ingestCommand(...args);
const summaryCommand = async (...args: Parameters<typeof import('./commands/summary.js').summaryCommand>) => (await import('./commands/summary.js')).summaryCommand(...args);
const quarantineCommand = async (...args: Parameters<typeof import('./commands/quarantine.js').quarantineCommand>) => (await import('./commands/quarantine.js')).quarantineCommand(...args);
const auditVerifyCommand = async (...args: Parameters<typeof import('./commands/audit.js').auditVerifyCommand>) => (await import('./commands/audit.js')).auditVerifyCommand(...args);
const alertsCommands = () => import('./commands/alerts.js');
const migrateCommand = async (...args: Parameters<typeof import('./commands/migrate.js').migrateCommand>) => (await import('./commands/migrate.js')).migrateCommand(...args);
const setupCommand = async (...args: Parameters<typeof import('./commands/setup.js').setupCommand>) => (await import('./commands/setup.js')).setupCommand(...args);


const dbOption = () => new Option('--db <path>', `DuckDB file (env ${ENV.db}; default ./blackbox.duckdb)`);
/** Where the data lives, for the commands that run on ClickHouse too. */
const storeOption = () =>
  new Option('--store <location>', `a DuckDB path, clickhouse://user:pass@host:8123/db (shared by any number of instances) or chdb:<dir>/<db> (env ${ENV.store}; default --db)`);
/** The zone calendar windows (today, last_week) and plain dates are read in, when a question names none. */
const tzOption = () => new Option('--tz <zone>', `IANA time zone for calendar windows and plain dates, like Europe/Berlin (env ${ENV.tz}; default UTC)`);
const nowOption = () =>
  new Option('--now <time>', `pin "now" to an RFC 3339 time, for demos and tests (env ${ENV.now})`);

/** Every command that reads the catalog takes the same file (format in the README and loadCatalogFile). */
export const catalogOption = () =>
  new Option('--catalog <file>', 'JSON list of the tools the fleet offers, so never-used tools count as unused: {"tools": [{"name": "stripe_refund", "server": "sales-gateway", "kind": "connector"}]}');

const program = new Command()
  .name('mcp-blackbox')
  .description('Flight recorder for an MCP tool fleet: ingest execution logs into DuckDB, answer questions as MCP tools.')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError()
  // wrap's own options stop at the server's command: what follows is the server's.
  .enablePositionalOptions()
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_CANNOT_RUN));

program
  .command('ingest')
  .description('Ingest NDJSON execution logs (*.jsonl, *.ndjson, .gz) from files, directories or globs')
  .argument('<inputs...>', 'files, directories (searched recursively) or quoted globs')
  .addOption(dbOption())
  .addOption(storeOption())
  .addOption(nowOption())
  .addOption(catalogOption())
  .option('--json', 'print the summary as JSON')
  .option('--quiet', 'no progress line (it shows only on a terminal anyway)')
  .action(run(ingestCommand));

program
  .command('migrate')
  .description('Copy a DuckDB database into an empty ClickHouse database, verified by counts')
  .requiredOption('--from <path>', 'the DuckDB file (stop the serve that owns it first)')
  .requiredOption('--to <location>', 'clickhouse://user:pass@host:8123/db (or chdb:<dir>/<db>)')
  .option('--json', 'print the report as JSON')
  .action(run(migrateCommand));

program
  .command('summary')
  .description('Print a one-screen fleet summary')
  .addOption(dbOption())
  .addOption(nowOption())
  .addOption(catalogOption())
  .addOption(tzOption())
  .option('--window <window>', 'how far back, like 24h, 7d, 30d, this_week, last_month or all', '7d')
  .action(run(summaryCommand));

program
  .command('quarantine')
  .description('List quarantined lines with their reasons')
  .addOption(dbOption())
  .option('--limit <n>', 'rows to show', '20')
  .option('--reason <prefix>', 'only reasons starting with this, like missing_field')
  .action(run(quarantineCommand));

program
  .command('audit')
  .description('The audit log')
  .command('verify')
  .description('Recompute the audit hash chain (every instance\'s chain on ClickHouse); exit 1 and name the first broken event if it was edited, deleted, reordered or truncated')
  .addOption(dbOption())
  .addOption(storeOption())
  .option('--json', 'print the result as JSON')
  .option('--without-mirror', 'check the database chain alone when the mirror file is gone (a truncated tail then goes unseen)')
  .option('--from-export <file>', 'check the audit events of an export instead (NDJSON of the file sink, or HEC event lines), as a SIEM would')
  .action(run(async (flags) => (flags.fromExport ? (await import('./commands/export.js')).auditVerifyExportCommand(flags.fromExport, flags) : auditVerifyCommand(flags))));

const alerts = program.command('alerts').description('Alert rules: list them, test a rules file, backtest a rule on history');
alerts
  .command('list')
  .description('The rules, the alerts firing or pending, and notifications not delivered yet')
  .addOption(dbOption())
  .action(run(async (flags) => (await alertsCommands()).alertsListCommand(flags)));
alerts
  .command('test')
  .description('Check an alerts file (channels and rules, as serve --alerts takes it) and backtest each rule on the stored history')
  .argument('<file>', 'JSON or YAML alerts file')
  .addOption(dbOption())
  .addOption(nowOption())
  .addOption(tzOption())
  .option('--window <window>', 'history to backtest on', '30d')
  .action(run(async (file, flags) => (await alertsCommands()).alertsTestCommand(file, flags)));
alerts
  .command('backtest')
  .description('When a saved rule would have fired and resolved over a past window, and how many notifications it would have sent')
  .argument('<name>', 'rule name (alerts list shows them)')
  .addOption(dbOption())
  .addOption(nowOption())
  .addOption(tzOption())
  .option('--window <window>', 'history to backtest on', '30d')
  .action(run(async (name, flags) => (await alertsCommands()).alertsBacktestCommand(name, flags)));

program
  .command('export')
  .description('Send a past range to an export sink again (a backfill, or a new SIEM), without moving its cursor')
  .requiredOption('--sink <name>', 'a sink of serve --export (or of --export FILE here)')
  .requiredOption('--from <time>', 'RFC 3339 start')
  .option('--to <time>', 'RFC 3339 end (exclusive; default now)')
  .option('--export <file...>', 'export files naming the sink, when no server holds it')
  .addOption(dbOption())
  .addOption(storeOption())
  .action(run(async (flags) => (await import('./commands/export.js')).exportCommand(flags)));

program
  .command('wrap')
  .description('Run an MCP stdio server through a recording proxy: the client launches this instead of the server, every tools/call becomes an execution record')
  .usage('[options] -- <command> [args...]')
  .argument('<command>', 'the server command, as the client would run it')
  .argument('[args...]', 'its arguments')
  .option('--server <name>', "tool.server of the records (default: the server's own serverInfo.name)")
  .option('--user <id>', `user.id of the records (env ${ENV.user}; default the OS user name)`)
  .option('--env <name>', 'environment of the records (prod, staging, ...)')
  .option('--to <url>', `the mcp-blackbox HTTP server that takes the records (env ${ENV.url}); without it, or while it is down, they go to the spool`)
  .option('--token <token>', `bearer token for --to (env ${ENV.token})`)
  .option('--spool <dir>', `where records wait as NDJSON when no server takes them (env ${ENV.spool}; default ~/.mcp-blackbox/spool, which serve reads)`)
  .option('--payload-cap <size>', 'longest input or output kept per record; longer ones are cut with a marker (default 64KiB)')
  .option('--annotate-errors', 'add the recorded execution id to the _meta of error results (mcp-blackbox/execution_id), so an agent can trace the call; the only change wrap then makes to the traffic')
  .option('--retry-delays <ms,...>', 'waits between attempts to send a batch to --to before it goes to the spool (default 250,1000,4000)')
  .passThroughOptions()
  .action(async (command: string, args: string[], flags: WrapFlags) => {
    // The child's exit code is ours, at once: stdin may still be open, and a run wrapper would wait on it.
    try {
      process.exit(await (await import('./commands/wrap.js')).wrapCommand(command, args, flags));
    } catch (error) {
      process.stderr.write(`mcp-blackbox: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(EXIT_CANNOT_RUN);
    }
  });

program
  .command('setup')
  .description("Record a whole client: rewrite its MCP config so every stdio server runs through wrap, and add the blackbox server; prints a diff and keeps a backup")
  .argument('<client>', 'claude-desktop, cursor, vscode or claude-code')
  .option('--config <path>', "the client's config file (default: its standard path on this OS)")
  .option('--db <path>', 'the database the blackbox entry serves (default ~/.mcp-blackbox/blackbox.duckdb)')
  .option('--user <id>', `who records and asks: wrap's --user and serve's --as (env ${ENV.user}; default the OS user name)`)
  .option('--dry-run', 'print the diff, write nothing')
  .option('--undo', 'put the config back as it was before setup')
  .action(run(setupCommand));

program
  .command('connect')
  .description('Serve an mcp-blackbox HTTP server on stdio, for clients that only launch stdio servers (without URL: the server that owns --db here)')
  .argument('[url]', 'the server, like http://127.0.0.1:8765')
  .option('--token <token>', `bearer token for the URL (env ${ENV.token})`)
  .option('--as <user>', `without URL: the user to ask as (env ${ENV.user}); the owner gives the role`)
  .addOption(dbOption())
  .action(async (url: string | undefined, flags) => {
    try {
      process.exit(await (await import('./commands/connect.js')).connectCommand(url, flags));
    } catch (error) {
      process.stderr.write(`mcp-blackbox: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(EXIT_CANNOT_RUN);
    }
  });

registerServeCommands(program, { dbOption, storeOption, nowOption, tzOption, catalogOption, run });

/** Wraps a command so an expected error prints its message (no stack) and exits 2. */
function run<A extends unknown[]>(command: (...args: A) => Promise<number | void>) {
  return async (...args: A) => {
    try {
      const code = await command(...args);
      process.exitCode = code ?? 0;
    } catch (error) {
      if (isExpected(error)) {
        process.stderr.write(`mcp-blackbox: ${error.message}\n`);
      } else {
        // A dependency's own words (ClickHouse's text, kept as the cause of a classified error) say what went wrong.
        const cause = error instanceof Error && error.cause instanceof Error ? `\ncaused by: ${error.cause.message}` : '';
        process.stderr.write(`mcp-blackbox: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}${cause}\n`);
      }
      process.exitCode = EXIT_CANNOT_RUN;
    }
  };
}

export type RunWrapper = typeof run;

await program.parseAsync(process.argv);
