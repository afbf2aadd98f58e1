import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs the Debian packages the tests drive (rsyslog) when they are missing.
    globalSetup: ['test/setup/system-packages.ts'],
    // DuckDB is a native addon: separate processes isolate it better than worker threads.
    pool: 'forks',
    // Two test files at a time on this two-core machine (vitest leaves one core free by default):
    // the suite took 218 s with one and 137 to 143 s with two, all passing, in two runs each.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A serve started by a test reads the default spool of wrap: never the machine's own.
    env: { TZ: 'UTC', MCP_BLACKBOX_SPOOL: join(tmpdir(), `mcp-blackbox-test-spool-${process.pid}`) },
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
