import { readFileSync } from 'node:fs';

/**
 * What the build bundled for browsers (scripts/build-web.mjs): found beside the package root from
 * src/ (tests) and dist/ (installed) alike. Read once: the files change only with a rebuild.
 */
const cache = new Map<string, Buffer>();
export function builtFile(relative: string): Buffer {
  let body = cache.get(relative);
  if (!body) {
    try {
      body = readFileSync(new URL(`../dist/${relative}`, import.meta.url));
    } catch {
      throw new Error(`dist/${relative} is missing: run npm run build (it bundles the dashboard and the MCP Apps view).`);
    }
    cache.set(relative, body);
  }
  return body;
}
