import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UserInputError } from '../errors.js';
import { importCatalog } from '../store/catalog.js';
import type { Store } from '../store/store.js';
import { TOOL_KINDS } from './format.js';

const catalogFileSchema = z.object({
  tools: z.array(z.object({ name: z.string().min(1), server: z.string().optional(), kind: z.enum(TOOL_KINDS).optional() })),
});

/**
 * A catalog file lists the tools a deployment offers, so that tools nobody ever called show up in
 * unused_tools: `{"tools": [{"name": "stripe_refund", "server": "sales-gateway", "kind": "connector"}]}`.
 */
export async function loadCatalogFile(store: Store, path: string): Promise<number> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserInputError(`Cannot read the catalog file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = catalogFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserInputError(`The catalog file ${path} is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}.`);
  }
  await store.write((db) => importCatalog(db, parsed.data.tools));
  return parsed.data.tools.length;
}
