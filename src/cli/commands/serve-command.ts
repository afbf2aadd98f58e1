import type { Command, Option } from 'commander';
import { ENV } from '../config.js';
import type { RunWrapper } from '../main.js';

/**
 * The serve and demo commands with their options. What they run is imported when they run:
 * the server's dependencies (the MCP SDK, fastify, DuckDB) take most of a second to load, which
 * every other command (wrap, setup, connect) and every --help would pay otherwise.
 */
export function registerServeCommands(
  program: Command,
  helpers: { dbOption: () => Option; storeOption: () => Option; nowOption: () => Option; tzOption: () => Option; catalogOption: () => Option; run: RunWrapper },
): void {
  program
    .command('serve')
    .description('Serve the MCP tools over stdio (the transport MCP clients launch)')
    .addOption(helpers.dbOption())
    .addOption(helpers.storeOption())
    .addOption(helpers.nowOption())
    .addOption(helpers.tzOption())
    .option('--watch <dir...>', 'tail *.jsonl / *.ndjson files in these directories into the database')
    .option('--spool <dir>', `ingest what wrap spooled there (env ${ENV.spool}; default ~/.mcp-blackbox/spool)`)
    .option('--no-spool', "do not ingest wrap's spool directory")
    .addOption(helpers.catalogOption())
    .option('--as <user>', `the calling user, given a role by the access file (env MCP_BLACKBOX_USER)`)
    .option('--access <file>', 'access file: users, roles, token hashes (env MCP_BLACKBOX_ACCESS)')
    .option('--http <listen>', 'serve HTTP instead of stdio on [HOST:]PORT (127.0.0.1 unless a host is given)')
    .option('--webhook-secret <secret...>', 'Standard Webhooks secrets for POST /v1/executions (env MCP_BLACKBOX_WEBHOOK_SECRETS, comma-separated)')
    .option('--jwks-url <url>', 'OAuth resource server mode: JWKS to verify JWT bearer tokens')
    .option('--jwt-issuer <iss>', 'required iss of JWTs')
    .option('--jwt-audience <aud>', 'required aud of JWTs (this server)')
    .option('--jwt-user-claim <claim>', 'claim naming the user (default sub)')
    .option('--jwt-role-claim <claim>', 'claim carrying the role admin/member/ingest (default role)')
    .option('--allowed-host <name...>', 'extra Host names to answer to (behind a proxy)')
    .option('--public-url <url>', 'public base URL, for the protected resource metadata')
    .option('--export <file...>', `SIEM export sinks, JSON or YAML (env ${ENV.export}, comma-separated): syslog, Splunk HEC, OTLP logs, NDJSON files`)
    .option('--alerts <file>', `alert channels and rules, JSON or YAML (env ${ENV.alerts}); alerts test FILE checks one first`)
    .option('--otlp-grpc <listen>', 'also take OTLP over gRPC on [HOST:]PORT (4317 by convention), with the same auth as HTTP ingest')
    .action(helpers.run(async (flags) => (await import('./serve.js')).serveAction(flags)));

  program
    .command('demo')
    .description('Ingest the bundled sample fleet, print a fleet summary and client configs, then serve MCP over HTTP on 127.0.0.1:8765')
    .addOption(helpers.dbOption())
    .addOption(helpers.nowOption())
    .option('--http <listen>', 'where to serve, [HOST:]PORT', '127.0.0.1:8765')
    .action(helpers.run(async (flags) => (await import('./serve.js')).demoAction(flags)));
}
