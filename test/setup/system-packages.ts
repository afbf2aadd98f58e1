import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Debian packages the tests drive for real: rsyslog (with its OpenSSL driver, for TLS) receives
 * the SIEM stream; Chromium renders the dashboard and the MCP Apps views. Installed here when missing, so that `npm test` on a fresh machine (and CI's
 * clean clone) needs nothing done by hand; installing needs root.
 */
const PACKAGES: Array<{ name: string; present: () => boolean }> = [
  { name: 'rsyslog', present: () => existsSync('/usr/sbin/rsyslogd') },
  // The dashboard's browser tests drive Debian's Chromium through playwright-core (nothing downloaded at run time).
  { name: 'chromium', present: () => existsSync('/usr/bin/chromium') },
  { name: 'fonts-liberation', present: () => existsSync('/usr/share/fonts/truetype/liberation') },
  { name: 'rsyslog-openssl', present: () => existsSync('/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so') || existsSync('/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_ossl.so') },
];

export default function setup(): void {
  const missing = PACKAGES.filter((p) => !p.present()).map((p) => p.name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`The tests need the Debian packages ${missing.join(', ')}; install them as root: apt-get install -y ${missing.join(' ')}`);
  }
  process.stderr.write(`installing ${missing.join(', ')} for the tests (apt-get)\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
}
