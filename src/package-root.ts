import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root directory (where package.json, dist/ and proto/ are), found by walking up
 * from this module: it runs from src/ in tests, dist/ when installed and dist-bench/src/ in the
 * bench, at different depths.
 */
function findRoot(start: string): { dir: string; version: string } {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'mcp-blackbox') return { dir, version: pkg.version };
    }
    if (dirname(dir) === dir) throw new Error(`mcp-blackbox's package.json not found above ${start}`);
  }
}

const root = findRoot(dirname(fileURLToPath(import.meta.url)));
export const PACKAGE_ROOT = root.dir;
/** The version, stated once in package.json. */
export const PACKAGE_VERSION = root.version;
