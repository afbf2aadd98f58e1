import type { Db } from './store.js';

/** Adds the tools of a catalog file to the catalog (they may never have run). */
export async function importCatalog(
  db: Db,
  tools: ReadonlyArray<{ name: string; server?: string; kind?: string }>,
): Promise<void> {
  for (const tool of tools) {
    await db.run(
      `INSERT INTO tools (name, server, kind, first_seen, last_seen, from_catalog)
       VALUES ($name, $server, $kind, NULL, NULL, true)
       ON CONFLICT (name, server) DO UPDATE SET from_catalog = true`,
      { name: tool.name, server: tool.server ?? '', kind: tool.kind ?? 'connector' },
    );
  }
}
