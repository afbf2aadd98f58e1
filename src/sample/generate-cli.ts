#!/usr/bin/env node
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { NEVER_USED_CATALOG_TOOLS, SAMPLE_ANCHOR, TOOLS } from './fleet.js';
import { generateLines } from './generate.js';

/**
 * `npm run sample`: writes the sample fleet to sample-logs/, one file per 7 days (the oldest one
 * gzip-compressed, as rotated logs often are), plus a tool catalog file.
 */
const { values } = parseArgs({
  options: { out: { type: 'string', default: 'sample-logs' }, anchor: { type: 'string', default: SAMPLE_ANCHOR } },
});
const out = values.out!;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const files = new Map<string, string[]>();
const anchor = Date.parse(values.anchor!);
let lines = 0;
let currentWeek = 0;
for (const line of generateLines({ anchor: values.anchor, runningFirstRate: 0.03, repeatRate: 0.01, badLineRate: 0.001 })) {
  const started = /"started_at":"([^"]+)"/.exec(line)?.[1];
  const at = started ? Date.parse(started) : NaN;
  // A malformed line has no usable time: it goes to the file being written.
  if (/^\d{4}-\d{2}-\d{2}T/.test(started ?? "") && at <= anchor) currentWeek = Math.floor((anchor - at) / (7 * 86_400_000));
  const name = `fleet-week-${String(currentWeek).padStart(2, '0')}.jsonl`;
  if (!files.has(name)) files.set(name, []);
  files.get(name)!.push(line);
  lines++;
}
const names = [...files.keys()].sort();
for (const name of names) {
  const body = `${files.get(name)!.join('\n')}\n`;
  if (name === names[names.length - 1]) writeFileSync(join(out, `${name}.gz`), gzipSync(body));
  else writeFileSync(join(out, name), body);
}
const catalog = {
  tools: [
    ...TOOLS.map((t) => ({ name: t.name, server: t.server, kind: t.kind })),
    ...NEVER_USED_CATALOG_TOOLS,
  ],
};
writeFileSync(join(out, 'catalog.json'), `${JSON.stringify(catalog, null, 2)}\n`);
process.stderr.write(`wrote ${lines} lines in ${names.length} files to ${out}/ (anchor ${values.anchor})\n`);
