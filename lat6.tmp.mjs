import { ClickHouseDb } from '/work/main/dist/store/clickhouse/client.js';
const ch = await ClickHouseDb.open({ engine: 'chdb', path: '/tmp/blackbox-bench/side/chdb', database: 'side_10000000' });
const T = 'side_10000000.executions';
async function time(label, sql, n = 7) {
  const s = [];
  let rows;
  for (let i = 0; i < n; i++) { const t = performance.now(); rows = await ch.all(sql); s.push(performance.now() - t); }
  s.sort((a, b) => a - b);
  console.log(label.padEnd(44), 'p50', s[Math.floor(n / 2)].toFixed(1), 'max', s[n - 1].toFixed(1), JSON.stringify(rows[0]).slice(0, 80));
}
const w30 = "started_at >= '2026-10-02 00:00:00' AND started_at < '2026-11-01 00:00:00'";
await time('count 30d FINAL', `SELECT count() n FROM ${T} FINAL WHERE ${w30}`);
await time('count 30d', `SELECT count() n FROM ${T} WHERE ${w30}`);
await time('by user 30d FINAL', `SELECT user_id, sum(tasks) FROM ${T} FINAL WHERE ${w30} GROUP BY user_id`);
await time('by user 30d', `SELECT user_id, sum(tasks) FROM ${T} WHERE ${w30} GROUP BY user_id`);
await time('session scan FINAL', `SELECT count() FROM ${T} FINAL WHERE agent_session_id = 's_x'`);
await time('parts', `SELECT count() n, sum(rows) r FROM system.parts WHERE database = 'side_10000000' AND table = 'executions' AND active`);
await time('settings threads', `SELECT getSetting('max_threads') t`);
await ch.close();
