/**
 * The load generator of the under-load bench: appends `rate` executions a second to a log file,
 * a tenth of them every 100 ms, until it is sent SIGTERM. It runs in a process of its own, as a
 * fleet's gateways do: in the server's process its JSON work would be measured as the server's.
 *
 * Usage: node live-writer.js <file> <executions per second> <anchor time> [id prefix]
 *
 * Ids are `<prefix>_<n>` (prefix `live` by default): each round of the bench passes its own, so
 * every round stores new executions rather than repeats of the last round's.
 */
import { appendFileSync } from 'node:fs';
import { liveRecord } from './dataset.js';

const [file, rateArg, anchorArg, idPrefix = 'live'] = process.argv.slice(2);
if (!file || !rateArg || !anchorArg) {
  process.stderr.write('usage: live-writer <file> <executions per second> <anchor time> [id prefix]\n');
  process.exit(2);
}
const perTick = Number(rateArg) / 10;
const anchor = Date.parse(anchorArg);

const record = (i: number) =>
  liveRecord(`${idPrefix}_${i}`, anchor - 3_600_000 + (i % 3_600_000), i % 20 === 0 ? 'failed' : 'succeeded', i);

let written = 0;
setInterval(() => {
  const chunk: string[] = [];
  for (let i = 0; i < perTick; i++) chunk.push(record(written++));
  appendFileSync(file, `${chunk.join('\n')}\n`);
}, 100);
process.on('SIGTERM', () => process.exit(0));
