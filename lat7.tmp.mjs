import { ClickHouseDb } from '/work/main/dist/store/clickhouse/client.js';
import { clickhouseAnalytics } from '/work/main/dist/analytics/clickhouse/index.js';
const ch = await ClickHouseDb.open({ engine: 'chdb', path: '/tmp/blackbox-bench/side/chdb', database: 'side_10000000' });
const a = clickhouseAnalytics(ch);
const range = { from: new Date('2026-10-02T00:00:00Z'), to: new Date('2026-11-01T00:00:00Z') };
const prev = { from: new Date('2026-09-02T00:00:00Z'), to: new Date('2026-10-02T00:00:00Z') };
async function time(label, fn, n = 5) {
  const s = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await fn(); s.push(performance.now() - t); }
  s.sort((x, y) => x - y);
  console.log(label.padEnd(30), 'p50', s[Math.floor(n / 2)].toFixed(1), 'max', s[n - 1].toFixed(1));
}
await time('series', () => a.usage.series(range, {}, 'day'));
await time('activeUsers', () => a.usage.activeUsers(range, {}));
await time('drivers', () => a.usage.drivers(range, prev, {}));
await time('sampleIds', () => a.usage.sampleIds(range, {}, 3));
await time('coverage', () => a.coverage(prev));
await time('extent', () => a.extent());
await time('cost totals', () => a.cost.totals(range, prev, {}));
await time('cost groups', () => a.cost.groups(range, prev, {}, 'user', 21, 3));
await time('unused', () => a.unused.tools(range, prev, {}));
await time('trace exec', () => a.trace.execution('ex_0000001'));
await time('trace steps', () => a.trace.steps('ex_0000001', 200));
await time('neighbours', () => a.trace.neighbours('session', 's_1', 'x', 22));
await ch.close();
