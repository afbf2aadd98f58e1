import { ClickHouseDb } from '/work/main/dist/store/clickhouse/client.js';
const ch = await ClickHouseDb.open({ engine: 'chdb', path: '/tmp/blackbox-bench/side/chdb', database: 'side_10000000' });
const T = 'side_10000000.executions';
async function time(label, sql, n = 5) {
  const s = []; let rows;
  for (let i = 0; i < n; i++) { const t = performance.now(); rows = await ch.all(sql); s.push(performance.now() - t); }
  s.sort((a, b) => a - b);
  console.log(label.padEnd(44), 'p50', s[Math.floor(n / 2)].toFixed(1), 'max', s[n - 1].toFixed(1), JSON.stringify(rows[0]).slice(0, 90));
}
const w30 = "started_at >= '2026-10-02 00:00:00' AND started_at < '2026-11-01 00:00:00'";
const sid = (await ch.one(`SELECT agent_session_id s FROM ${T} WHERE agent_session_id IS NOT NULL LIMIT 1 OFFSET 5000000`)).s;
console.log('session', sid);
await time('users 3x uniqExact', `SELECT uniqExact(user_id), uniqExactIf(user_id, tool_kind='workflow'), uniqExactIf(user_id, tool_kind='connector') FROM ${T} FINAL WHERE ${w30}`);
await time('users group by', `SELECT count() u, countIf(w) wu, countIf(c) cu FROM (SELECT user_id, max(tool_kind = 'workflow') w, max(tool_kind = 'connector') c FROM ${T} FINAL WHERE ${w30} GROUP BY user_id)`);
await time('session before index', `SELECT count() FROM ${T} FINAL WHERE agent_session_id = '${sid}'`);
let t = performance.now();
await ch.command(`ALTER TABLE ${T} ADD INDEX IF NOT EXISTS session_bf agent_session_id TYPE bloom_filter GRANULARITY 1`);
await ch.command(`ALTER TABLE ${T} MATERIALIZE INDEX session_bf SETTINGS mutations_sync = 2`);
console.log('materialize', performance.now() - t);
await time('session after index', `SELECT count() FROM ${T} FINAL WHERE agent_session_id = '${sid}'`);
await ch.close();
