import { AuditLog, verifyChains } from '../../access/audit.js';
import { ClickHouseAuditStorage } from '../../store/clickhouse/audit.js';
import { ClickHouseStore } from '../../store/clickhouse/store.js';
import type { StoreLocation } from '../../store/store-url.js';
import type { Store } from '../../store/store.js';
import { auditMirrorPath, resolveConfig, type CommonFlags, type Config } from '../config.js';
import { EXIT_OK, EXIT_PARTIAL } from '../exit-codes.js';
import { onStoreOrOwner, type CommandOutput } from '../owner.js';

export interface AuditVerifyArgs {
  json?: boolean;
  withoutMirror?: boolean;
}

/** `audit verify` as it prints: exit 0 when the chain verifies, 1 when it is broken. */
export async function auditVerifyReport(audit: AuditLog, args: AuditVerifyArgs): Promise<CommandOutput> {
  const result = await audit.verify({ withoutMirror: args.withoutMirror });
  let text: string;
  if (args.json) {
    text = `${JSON.stringify(result, null, 2)}\n`;
  } else if (result.ok) {
    text =
      `audit chain OK: ${result.events} events${result.head_seq ? `, head ${result.head_seq}` : ''}, ${result.keyed ? 'HMAC with MCP_BLACKBOX_AUDIT_KEY' : 'SHA-256 (set MCP_BLACKBOX_AUDIT_KEY for an HMAC chain)'}` +
      `${result.mirror.matches ? `; mirror ${result.mirror.path} matches` : args.withoutMirror ? '; the mirror was not checked (--without-mirror): a truncated tail cannot be detected' : ''}\n`;
  } else {
    text = result.first_broken_seq === null ? `audit chain NOT VERIFIED: ${result.problem}\n` : `audit chain BROKEN at event ${result.first_broken_seq}: ${result.problem}\n`;
  }
  return { text, code: result.ok ? EXIT_OK : EXIT_PARTIAL };
}

/**
 * Every chain of a ClickHouse store (one per instance that ever served): each must verify. The
 * instances' mirror files live on their own machines and are not checked here.
 */
async function verifyClickHouseChains(location: StoreLocation & { engine: 'clickhouse' | 'chdb' }, config: Config, json: boolean | undefined): Promise<CommandOutput> {
  const store = await ClickHouseStore.open(location, config.clock);
  try {
    const chains = await verifyChains(new ClickHouseAuditStorage(store.ch), { key: config.auditKey });
    const ok = chains.every((c) => c.ok);
    if (json) return { text: `${JSON.stringify({ ok, chains }, null, 2)}\n`, code: ok ? EXIT_OK : EXIT_PARTIAL };
    const lines = chains.map((c) =>
      c.ok
        ? `  ${c.chain}: OK, ${c.events} events${c.head_seq ? `, head ${c.head_seq}` : ''}`
        : `  ${c.chain}: ${c.first_broken_seq === null ? `NOT VERIFIED: ${c.problem}` : `BROKEN at event ${c.first_broken_seq}: ${c.problem}`}`,
    );
    const keyed = config.auditKey ? 'HMAC with MCP_BLACKBOX_AUDIT_KEY' : 'SHA-256 (set MCP_BLACKBOX_AUDIT_KEY for an HMAC chain)';
    const head = ok ? `audit chains OK: ${chains.length} chain(s), one per instance, ${keyed}` : `audit chains NOT VERIFIED: ${chains.filter((c) => !c.ok).length} of ${chains.length} broken`;
    return { text: `${[head, ...lines].join('\n')}\n`, code: ok ? EXIT_OK : EXIT_PARTIAL };
  } finally {
    await store.close();
  }
}

export async function auditVerifyCommand(flags: CommonFlags & { json?: boolean; withoutMirror?: boolean }): Promise<number> {
  const config = resolveConfig(flags, process.env, { clickhouse: true });
  if (config.store.engine !== 'duckdb') {
    const out = await verifyClickHouseChains(config.store, config, flags.json);
    process.stdout.write(out.text);
    return out.code;
  }
  const args: AuditVerifyArgs = { json: flags.json, withoutMirror: flags.withoutMirror };
  const out = await onStoreOrOwner(config, 'audit-verify', { ...args }, (store: Store) =>
    auditVerifyReport(new AuditLog(store, { key: config.auditKey, mirrorPath: auditMirrorPath(config.dbPath) }), args),
  );
  process.stdout.write(out.text);
  return out.code;
}
