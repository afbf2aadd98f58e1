import { createHash } from 'node:crypto';
import type { Db, Params, Store } from './store.js';

/** The tools of a catalog file, added to the catalog in one write (ingest/catalog-file.ts reads the file). */
export function addCatalogTools(store: Store, tools: ReadonlyArray<{ name: string; server?: string; kind?: string }>): Promise<void> {
  return store.write((db) => importCatalog(db, tools));
}

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

/** A server's tool list as `wrap` saw it answer tools/list (the tool_catalog record type). */
export interface ToolList {
  seen_at: string;
  server: string;
  tools: ReadonlyArray<{ name: string; description?: string; input_schema_sha256?: string }>;
}

/**
 * Stores tool lists: every tool joins the catalog (so a tool nobody called counts as unused),
 * and a definition that differs from the latest one stored for that tool (description or input
 * schema), or a list that differs from the server's latest, starts a new version with the time it
 * was first seen. The same list seen again only moves last_seen.
 */
export async function recordToolLists(db: Db, lists: readonly ToolList[]): Promise<void> {
  for (const list of lists) {
    const seen = list.seen_at;
    for (const tool of list.tools) {
      await db.run(
        `INSERT INTO tools (name, server, kind, first_seen, last_seen, from_catalog)
         VALUES ($name, $server, 'connector', NULL, NULL, true)
         ON CONFLICT (name, server) DO UPDATE SET from_catalog = true`,
        { name: tool.name, server: list.server },
      );
      await newVersionOrSeen(db, 'tool_definitions', 'server = $server AND name = $name',
        'description IS NOT DISTINCT FROM $description AND input_schema_sha256 IS NOT DISTINCT FROM $schema',
        { server: list.server, name: tool.name, description: tool.description ?? null, schema: tool.input_schema_sha256 ?? null, seen },
        `INSERT INTO tool_definitions (server, name, description, input_schema_sha256, first_seen, last_seen)
         VALUES ($server, $name, $description, $schema, ${SEEN}, ${SEEN})`);
    }
    await newVersionOrSeen(db, 'server_tool_lists', 'server = $server', 'tools_sha256 = $hash',
      { server: list.server, hash: toolListHash(list), count: list.tools.length, seen },
      `INSERT INTO server_tool_lists (server, tools_sha256, tool_count, first_seen, last_seen)
       VALUES ($server, $hash, $count, ${SEEN}, ${SEEN})`);
  }
}

/** Moves last_seen of the latest version when it is the same, else inserts a new version. */
async function newVersionOrSeen(db: Db, table: string, key: string, same: string, params: Params, insert: string): Promise<void> {
  const latest = await db.one<{ same: boolean }>(`SELECT (${same}) AS same FROM ${table} WHERE ${key} ORDER BY first_seen DESC LIMIT 1`, params);
  if (latest?.same) {
    await db.run(`UPDATE ${table} SET last_seen = greatest(last_seen, ${SEEN}) WHERE ${key} AND first_seen = (SELECT max(first_seen) FROM ${table} WHERE ${key})`, params);
  } else {
    await db.run(insert, params);
  }
}

/** seen_at is RFC 3339 with a zone (validated at ingest); stored as UTC like every time. */
const SEEN = "timezone('UTC', CAST($seen AS TIMESTAMPTZ))";

/** A whole tool list's identity: its tools' names, descriptions and schema hashes, in any order. */
export function toolListHash(list: ToolList): string {
  const names = list.tools.map((t) => `${t.name}\u0000${t.description ?? ''}\u0000${t.input_schema_sha256 ?? ''}`).sort();
  return createHash('sha256').update(names.join('\n')).digest('hex');
}
