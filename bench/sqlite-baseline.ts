import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/**
 * The stack peer gateways use: SQLite through better-sqlite3 (12.x; 13 crashes on Node 20), a
 * transaction per 10,000 lines, a primary key on execution_id, and indexes for the questions.
 * It is a baseline, so it gets the same idempotency rule (supersede by terminal, then ended_at)
 * and a required-fields check, but none of our quarantine bookkeeping.
 */

const require = createRequire(import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SqliteDb = any;

/**
 * better-sqlite3 is a devDependency, locked with the rest; its native part compiles from source
 * here (about 75 s), so installs skip that (allowScripts) and the bench builds it the first time
 * it runs.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadBetterSqlite(): any {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  try {
    const Database = require('better-sqlite3');
    new Database(':memory:').close();
    return Database;
  } catch {
    process.stderr.write('bench: building better-sqlite3 for the SQLite baseline (compiles from source, about 75 s)...\n');
    // Its own install script (a prebuilt binary, else node-gyp), which `npm rebuild` would skip too.
    execFileSync('npm', ['run', 'install'], { stdio: 'inherit', cwd: join(root, 'node_modules', 'better-sqlite3') });
    return require(join(root, 'node_modules', 'better-sqlite3'));
  }
}

const SCHEMA = `
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = NORMAL;
  CREATE TABLE IF NOT EXISTS executions (
    execution_id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, ended_at INTEGER, duration_ms REAL, status TEXT NOT NULL,
    tool_name TEXT NOT NULL, tool_kind TEXT NOT NULL, tool_server TEXT, user_id TEXT NOT NULL, user_team TEXT,
    agent_client TEXT, session_id TEXT, run_id TEXT, tasks REAL NOT NULL, cost_usd REAL,
    error_type TEXT, error_layer TEXT, error_message TEXT, input TEXT, output TEXT, terminal INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS steps (
    execution_id TEXT NOT NULL, step_index INTEGER NOT NULL, name TEXT, connector TEXT, operation TEXT, status TEXT,
    auth_mode TEXT, auth_identity TEXT, error_type TEXT, PRIMARY KEY (execution_id, step_index)
  );
  CREATE INDEX IF NOT EXISTS ex_started ON executions (started_at);
  CREATE INDEX IF NOT EXISTS ex_tool_started ON executions (tool_name, started_at);
  CREATE INDEX IF NOT EXISTS ex_user_started ON executions (user_id, started_at);
  CREATE INDEX IF NOT EXISTS ex_run ON executions (run_id);
`;

const STATUSES = new Set(['running', 'succeeded', 'failed', 'stopped', 'terminated']);

export async function sqliteIngest(path: string, file: string): Promise<{ lines: number; rejected: number }> {
  const Database = loadBetterSqlite();
  const db = new Database(path);
  db.exec(SCHEMA);
  const upsert = db.prepare(`
    INSERT INTO executions VALUES (@execution_id, @started_at, @ended_at, @duration_ms, @status, @tool_name, @tool_kind, @tool_server,
      @user_id, @user_team, @agent_client, @session_id, @run_id, @tasks, @cost_usd, @error_type, @error_layer, @error_message, @input, @output, @terminal)
    ON CONFLICT (execution_id) DO UPDATE SET
      ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, status = excluded.status, tasks = excluded.tasks,
      error_type = excluded.error_type, error_layer = excluded.error_layer, error_message = excluded.error_message,
      output = excluded.output, terminal = excluded.terminal
    WHERE excluded.terminal > executions.terminal
       OR (excluded.terminal = 1 AND coalesce(excluded.ended_at, 0) > coalesce(executions.ended_at, 0))`);
  const deleteSteps = db.prepare('DELETE FROM steps WHERE execution_id = ?');
  const insertStep = db.prepare('INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  let batch: Array<Record<string, unknown>> = [];
  let lines = 0;
  let rejected = 0;
  const flush = db.transaction((rows: Array<Record<string, unknown>>) => {
    for (const row of rows) {
      const { steps, ...values } = row as { steps?: Array<Record<string, any>> } & Record<string, unknown>;
      const changed = upsert.run(values).changes > 0;
      if (changed && steps) {
        deleteSteps.run(values.execution_id);
        for (const s of steps) insertStep.run(values.execution_id, s.index, s.name, s.connector ?? null, s.operation ?? null, s.status, s.auth?.mode ?? null, s.auth?.identity ?? null, s.error?.type ?? null);
      }
    }
  });
  const input = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of input) {
    if (!line.trim()) continue;
    lines++;
    let r: any;
    try {
      r = JSON.parse(line);
    } catch {
      rejected++;
      continue;
    }
    const started = typeof r.started_at === 'string' ? Date.parse(r.started_at) : NaN;
    if (typeof r.execution_id !== 'string' || Number.isNaN(started) || !STATUSES.has(r.status) || typeof r.tool?.name !== 'string' || typeof r.user?.id !== 'string') {
      rejected++;
      continue;
    }
    const ended = typeof r.ended_at === 'string' ? Date.parse(r.ended_at) : null;
    const kind = r.tool.kind ?? 'connector';
    batch.push({
      execution_id: r.execution_id, started_at: started, ended_at: ended, duration_ms: r.duration_ms ?? (ended ? ended - started : null), status: r.status,
      tool_name: r.tool.name, tool_kind: kind, tool_server: r.tool.server ?? null, user_id: r.user.id, user_team: r.user.team ?? null,
      agent_client: r.agent?.client ?? null, session_id: r.agent?.session_id ?? null, run_id: r.agent?.workflow_run_id ?? null,
      tasks: r.tasks ?? (kind === 'workflow' && Array.isArray(r.steps) ? r.steps.reduce((a: number, s: any) => a + (s.tasks ?? 1), 0) : 1),
      cost_usd: r.cost_usd ?? null, error_type: r.error?.type ?? null, error_layer: r.error?.layer ?? null, error_message: r.error?.message ?? null,
      input: r.input === undefined ? null : JSON.stringify(r.input), output: r.output === undefined ? null : JSON.stringify(r.output),
      terminal: r.status === 'running' ? 0 : 1, steps: Array.isArray(r.steps) ? r.steps : undefined,
    });
    if (batch.length >= 10_000) {
      flush(batch);
      batch = [];
    }
  }
  flush(batch);
  db.close();
  return { lines, rejected };
}

const DAY = 86_400_000;

/**
 * The six questions answered by hand-written SQL on the SQLite copy: what a peer built on SQLite
 * would run. Each returns a small result, like the tools do.
 */
export function sqliteQueries(path: string, now: number, traceId: string): Record<string, () => unknown> {
  const Database = loadBetterSqlite();
  const db = new Database(path, { readonly: true });
  const w30 = { from: now - 30 * DAY, to: now, pfrom: now - 60 * DAY };
  const w7 = { from: now - 7 * DAY, to: now };
  const q = (sql: string) => db.prepare(sql);
  const usage = {
    totals: q(`SELECT count(*) n, sum(status='succeeded') ok, sum(status='failed') failed, sum(status='terminated') terminated,
                 count(DISTINCT user_id) users, count(DISTINCT CASE WHEN tool_kind='workflow' THEN user_id END) wf_users, sum(tasks) tasks
               FROM executions WHERE started_at >= @from AND started_at < @to`),
    series: q(`SELECT (started_at / 86400000) day, status, count(*) n FROM executions WHERE started_at >= @from AND started_at < @to GROUP BY 1, 2`),
    previous: q(`SELECT count(*) n FROM executions WHERE started_at >= @pfrom AND started_at < @from`),
    driver: q(`SELECT tool_name, sum(started_at >= @from) cur, sum(started_at < @from) prev FROM executions
               WHERE started_at >= @pfrom AND started_at < @to GROUP BY 1 ORDER BY abs(sum(started_at >= @from) - sum(started_at < @from)) DESC LIMIT 1`),
  };
  const spike = {
    hourly: q(`SELECT (started_at / 3600000) hour, count(*) n FROM executions WHERE started_at >= @lb AND started_at < @to GROUP BY 1`),
    contributors: q(`SELECT user_id, sum(started_at >= @ps AND started_at < @pe) n FROM executions
                     WHERE started_at >= @lb AND started_at < @to AND ((started_at - @ps) % 86400000 + 86400000) % 86400000 < 3600000
                     GROUP BY 1 ORDER BY n DESC LIMIT 5`),
  };
  const cost = {
    users: q(`SELECT user_id, sum(tasks) t, sum(cost_usd) c FROM executions WHERE started_at >= @from AND started_at < @to GROUP BY 1 ORDER BY t DESC LIMIT 20`),
    tops: q(`SELECT user_id, tool_name, sum(tasks) t FROM executions WHERE started_at >= @from AND started_at < @to GROUP BY 1, 2`),
    previous: q(`SELECT user_id, sum(tasks) t FROM executions WHERE started_at >= @pfrom AND started_at < @from GROUP BY 1`),
  };
  const unused = q(`SELECT tool_name, tool_server, max(started_at) last FROM executions GROUP BY 1, 2 HAVING max(started_at) < @from`);
  const failures = q(`SELECT e.error_type, e.error_layer, e.tool_name, s.connector, count(*) n, min(e.started_at), max(e.started_at), max(e.execution_id)
                      FROM executions e LEFT JOIN steps s ON s.execution_id = e.execution_id AND s.status IN ('failed', 'terminated')
                      WHERE e.started_at >= @from AND e.started_at < @to AND e.status IN ('failed', 'terminated')
                      GROUP BY 1, 2, 3, 4 ORDER BY n DESC LIMIT 20`);
  const trace = {
    execution: q('SELECT * FROM executions WHERE execution_id = ?'),
    steps: q('SELECT * FROM steps WHERE execution_id = ? ORDER BY step_index'),
    related: q('SELECT execution_id, tool_name, status FROM executions WHERE run_id = ? AND execution_id <> ? LIMIT 21'),
  };
  return {
    usage_summary: () => ({
      totals: usage.totals.get(w30),
      series: usage.series.all(w30),
      previous: usage.previous.get(w30),
      driver: usage.driver.get(w30),
    }),
    who_drove_spike: () => {
      const lb = w30.from - 7 * DAY;
      const hours = spike.hourly.all({ lb, to: w30.to }) as Array<{ hour: number; n: number }>;
      const byHour = new Map(hours.map((h) => [h.hour, h.n]));
      let best = { hour: 0, excess: -Infinity };
      for (let h = Math.floor(w30.from / 3_600_000); h < Math.floor(w30.to / 3_600_000); h++) {
        const history = Array.from({ length: 7 }, (_, k) => byHour.get(h - 24 * (k + 1)) ?? 0).sort((a, b) => a - b);
        const excess = (byHour.get(h) ?? 0) - history[3]!;
        if (excess > best.excess) best = { hour: h, excess };
      }
      const ps = best.hour * 3_600_000;
      return spike.contributors.all({ lb: ps - 7 * DAY, to: ps + 3_600_000, ps, pe: ps + 3_600_000 });
    },
    cost_by_user: () => ({ users: cost.users.all(w30), tops: cost.tops.all(w30).length, previous: cost.previous.all(w30) }),
    unused_tools: () => unused.all(w30),
    failure_report: () => failures.all(w7),
    trace_execution: () => {
      const execution = trace.execution.get(traceId) as { run_id?: string } | undefined;
      return { execution, steps: trace.steps.all(traceId), related: execution?.run_id ? trace.related.all(execution.run_id, traceId) : [] };
    },
    close: () => db.close(),
  };
}
