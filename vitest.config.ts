import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Installs the Debian packages the tests drive (rsyslog, chromium) when they are missing.
    globalSetup: ['test/setup/system-packages.ts'],
    // DuckDB is a native addon: separate processes isolate it better than worker threads.
    pool: 'forks',
    // At least three test files at a time, also on two cores, where vitest would leave one core free:
    // the tests spend most of their time waiting on DuckDB, child processes, sockets and timers.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A serve started by a test reads the default spool of wrap: never the machine's own.
    env: { TZ: 'UTC', MCP_BLACKBOX_SPOOL: join(tmpdir(), `mcp-blackbox-test-spool-${process.pid}`) },
    reporters: ['default', './test/summary-reporter.ts'],
    // The browser tests (Debian's Chromium) in a project of their own: `vitest run --project unit`
    // skips them while working on the rest; `npm test` and CI run both.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/browser/**', 'test/clickhouse/**'] } },
      { extends: true, test: { name: 'browser', include: ['test/browser/**/*.test.ts'] } },
      // The ClickHouse backend on chdb, which this project installs when it is missing (test/setup/chdb.ts).
      // Its conformance tests ask both engines hundreds of questions each: a longer timeout, so a
      // loaded 2-core machine does not fail them on time alone.
      { extends: true, test: { name: 'clickhouse', include: ['test/clickhouse/**/*.test.ts'], globalSetup: ['test/setup/system-packages.ts', 'test/setup/chdb.ts'], testTimeout: 120_000 } },
    ],
  },
});
