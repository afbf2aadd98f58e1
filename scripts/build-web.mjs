// Bundles the browser code at build time (nothing is fetched from a CDN when a page loads):
// - the dashboard: dist/web/assets/dashboard.{js,css}, served by `serve --http` at /;
// - the MCP Apps view: dist/mcp/apps/view.html, one self-contained file (script and styles
//   inline), because a host renders it in a sandboxed iframe under a CSP with no network.
import { build } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => join(root, ...parts);
const common = { bundle: true, minify: true, format: 'iife', target: 'es2020', platform: 'browser', legalComments: 'none', logLevel: 'warning', write: false };

async function bundle(entry) {
  const result = await build({ ...common, entryPoints: [at(entry)], outdir: at('dist', '.bundle') });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '';
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  return { js, css };
}

const dashboard = await bundle('src/web/client/main.ts');
await mkdir(at('dist', 'web', 'assets'), { recursive: true });
await writeFile(at('dist', 'web', 'assets', 'dashboard.js'), dashboard.js);
await writeFile(at('dist', 'web', 'assets', 'dashboard.css'), dashboard.css);

const view = await bundle('src/mcp/apps/view/main.ts');
const template = await readFile(at('src', 'mcp', 'apps', 'view', 'view.html'), 'utf8');
// A </script> inside the bundle would end the inline script early.
const safeJs = view.js.replaceAll('</script', '<\\/script');
await mkdir(at('dist', 'mcp', 'apps'), { recursive: true });
await writeFile(at('dist', 'mcp', 'apps', 'view.html'), template.replace('/*STYLE*/', () => view.css).replace('/*SCRIPT*/', () => safeJs));
