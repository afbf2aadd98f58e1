import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * The ClickHouse conformance tests run on chdb (ClickHouse in the test process). It is not a
 * dependency: a 540 MB install that users of the DuckDB default should not pay for. `.ci/run`
 * installs it (npm run chdb:install); this installs it when `npm test` runs without it.
 */
export default function setup(): void {
  try {
    createRequire(import.meta.url).resolve('chdb/connection');
    return;
  } catch {
    process.stderr.write('installing chdb for the ClickHouse tests (npm run chdb:install)\n');
    execFileSync('npm', ['run', '--silent', 'chdb:install'], { stdio: 'inherit' });
  }
}
