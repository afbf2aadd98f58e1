import { AuditLog } from '../../access/audit.js';
import { Store } from '../../store/store.js';
import { auditMirrorPath, requireDatabase, resolveConfig, storeOptions, type CommonFlags } from '../config.js';
import { EXIT_OK, EXIT_PARTIAL } from '../exit-codes.js';

/** `mcp-blackbox audit verify`: exit 0 when the chain verifies, 1 when it is broken. */
export async function auditVerifyCommand(flags: CommonFlags & { json?: boolean; withoutMirror?: boolean }): Promise<number> {
  const config = resolveConfig(flags, process.env);
  requireDatabase(config);
  const store = await Store.open(storeOptions(config));
  try {
    const result = await new AuditLog(store, { key: config.auditKey, mirrorPath: auditMirrorPath(config.dbPath) }).verify({ withoutMirror: flags.withoutMirror });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else if (result.ok) {
      process.stdout.write(
        `audit chain OK: ${result.events} events${result.head_seq ? `, head ${result.head_seq}` : ''}, ${result.keyed ? 'HMAC with MCP_BLACKBOX_AUDIT_KEY' : 'SHA-256 (set MCP_BLACKBOX_AUDIT_KEY for an HMAC chain)'}` +
          `${result.mirror.matches ? `; mirror ${result.mirror.path} matches` : flags.withoutMirror ? '; the mirror was not checked (--without-mirror): a truncated tail cannot be detected' : ''}\n`,
      );
    } else {
      process.stdout.write(
        result.first_broken_seq === null ? `audit chain NOT VERIFIED: ${result.problem}\n` : `audit chain BROKEN at event ${result.first_broken_seq}: ${result.problem}\n`,
      );
    }
    return result.ok ? EXIT_OK : EXIT_PARTIAL;
  } finally {
    await store.close();
  }
}
