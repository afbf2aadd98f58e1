import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './package-root.js';

/** What the build bundled for browsers (scripts/build-web.mjs), in the package's dist/; read once (they change only with a rebuild). */
const cache = new Map<string, Buffer>();
export function builtFile(relative: string): Buffer {
  let body = cache.get(relative);
  if (!body) {
    try {
      body = readFileSync(join(PACKAGE_ROOT, 'dist', relative));
    } catch {
      throw new Error(`dist/${relative} is missing: run npm run build (it bundles the dashboard and the MCP Apps view).`);
    }
    cache.set(relative, body);
  }
  return body;
}
