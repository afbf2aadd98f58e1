import { listQuarantine } from '../../store/quarantine.js';
import { Store } from '../../store/store.js';
import { UserInputError } from '../../errors.js';
import { requireDatabase, resolveConfig, storeOptions, type CommonFlags } from '../config.js';

export async function quarantineCommand(flags: CommonFlags & { limit: string; reason?: string }): Promise<void> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UserInputError(`--limit must be a positive whole number, got ${flags.limit}`);
  const config = resolveConfig(flags, process.env);
  requireDatabase(config);
  const store = await Store.open(storeOptions(config));
  try {
    const { total, rows } = await listQuarantine(store, { limit, reasonPrefix: flags.reason });
    process.stdout.write(`${total} quarantined line(s)${flags.reason ? ` with reason ${flags.reason}*` : ''}\n`);
    for (const row of rows) {
      process.stdout.write(`${row.source}:${row.lineNo}  ${row.reason}\n    ${row.raw.slice(0, 160)}\n`);
    }
  } finally {
    await store.close();
  }
}
