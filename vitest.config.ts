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
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A serve started by a test reads the default spool of wrap: never the machine's own.
    env: { TZ: 'UTC', MCP_BLACKBOX_SPOOL: join(tmpdir(), `mcp-blackbox-test-spool-${process.pid}`) },
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
