import { z } from 'zod';
import { readJsonFile } from '../json-file.js';
import { addCatalogTools } from '../store/catalog.js';
import type { Store } from '../store/store.js';
import { TOOL_KINDS } from '../model.js';

const catalogFileSchema = z.object({
  tools: z.array(z.object({ name: z.string().min(1), server: z.string().optional(), kind: z.enum(TOOL_KINDS).optional() })),
});

/**
 * A catalog file lists the tools a deployment offers, so that tools nobody ever called show up in
 * unused_tools: `{"tools": [{"name": "stripe_refund", "server": "sales-gateway", "kind": "connector"}]}`.
 */
export async function loadCatalogFile(store: Store | CatalogSink, path: string): Promise<number> {
  const catalog = readJsonFile(path, catalogFileSchema, 'catalog file', '{"tools": [{"name": "stripe_refund", "server": "sales-gateway", "kind": "connector"}]}');
  await ('addCatalogTools' in store ? store.addCatalogTools(catalog.tools) : addCatalogTools(store, catalog.tools));
  return catalog.tools.length;
}

/** A store that keeps catalog tools itself (the ClickHouse store). */
export interface CatalogSink {
  addCatalogTools(tools: ReadonlyArray<{ name: string; server?: string; kind?: string }>): Promise<void>;
}
