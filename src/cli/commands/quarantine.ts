import { listQuarantine } from '../../store/quarantine.js';
import type { Store } from '../../store/store.js';
import { UserInputError } from '../../errors.js';
import { resolveConfig, type CommonFlags } from '../config.js';
import { onStoreOrOwner, type CommandOutput } from '../owner.js';

export interface QuarantineArgs {
  limit?: number;
  reason?: string;
}

/** The quarantine as `mcp-blackbox quarantine` prints it. */
export async function quarantineReport(store: Store, args: QuarantineArgs): Promise<CommandOutput> {
  const limit = args.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1) throw new UserInputError(`--limit must be a positive whole number, got ${args.limit}`);
  const { total, rows } = await listQuarantine(store, { limit, reasonPrefix: args.reason });
  const out = [`${total} quarantined line(s)${args.reason ? ` with reason ${args.reason}*` : ''}`];
  for (const row of rows) out.push(`${row.source}:${row.lineNo}  ${row.reason}\n    ${row.raw.slice(0, 160)}`);
  return { text: `${out.join('\n')}\n`, code: 0 };
}

export async function quarantineCommand(flags: CommonFlags & { limit: string; reason?: string }): Promise<number> {
  const args: QuarantineArgs = { limit: Number(flags.limit), reason: flags.reason };
  if (!Number.isInteger(args.limit) || args.limit! < 1) throw new UserInputError(`--limit must be a positive whole number, got ${flags.limit}`);
  const out = await onStoreOrOwner(resolveConfig(flags, process.env), 'quarantine', { ...args }, (store) => quarantineReport(store, args));
  process.stdout.write(out.text);
  return out.code;
}
