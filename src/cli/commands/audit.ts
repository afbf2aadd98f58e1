import { AuditLog } from '../../access/audit.js';
import type { Store } from '../../store/store.js';
import { auditMirrorPath, resolveConfig, type CommonFlags } from '../config.js';
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

export async function auditVerifyCommand(flags: CommonFlags & { json?: boolean; withoutMirror?: boolean }): Promise<number> {
  const config = resolveConfig(flags, process.env);
  const args: AuditVerifyArgs = { json: flags.json, withoutMirror: flags.withoutMirror };
  const out = await onStoreOrOwner(config, 'audit-verify', { ...args }, (store: Store) =>
    auditVerifyReport(new AuditLog(store, { key: config.auditKey, mirrorPath: auditMirrorPath(config.dbPath) }), args),
  );
  process.stdout.write(out.text);
  return out.code;
}
