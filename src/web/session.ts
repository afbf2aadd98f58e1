import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../access/caller.js';

/** The dashboard's session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it). */
export const SESSION_COOKIE = 'mcp_blackbox_session';
/** The header every dashboard API call carries, matched against its session (a form on another site cannot set it). */
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface Session {
  caller: Caller;
  csrf: string;
  expiresAt: number;
}

/**
 * Signed-in browsers, in memory: a restart signs everyone out, which costs a token paste and
 * keeps no session secret on disk. Sessions are found by the SHA-256 of the cookie, so this map
 * never holds a value a browser could present.
 */
export class Sessions {
  private readonly byHash = new Map<string, Session>();

  constructor(
    private readonly now: () => number = Date.now,
    readonly ttlMs = SESSION_TTL_MS,
  ) {}

  /** `notAfter`: when the credential signed in with expires (a JWT's exp); the session ends then at the latest. */
  open(caller: Caller, notAfter?: number): { cookie: string; session: Session; maxAgeSeconds: number } {
    this.sweep();
    const now = this.now();
    const cookie = randomBytes(32).toString('base64url');
    const session = { caller, csrf: randomBytes(24).toString('base64url'), expiresAt: Math.min(now + this.ttlMs, notAfter ?? Infinity) };
    this.byHash.set(hash(cookie), session);
    return { cookie, session, maxAgeSeconds: Math.max(0, Math.floor((session.expiresAt - now) / 1000)) };
  }

  find(cookie: string | undefined): Session | undefined {
    if (!cookie) return undefined;
    const key = hash(cookie);
    const session = this.byHash.get(key);
    if (session && session.expiresAt <= this.now()) {
      this.byHash.delete(key);
      return undefined;
    }
    return session;
  }

  close(cookie: string | undefined): void {
    if (cookie) this.byHash.delete(hash(cookie));
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, session] of this.byHash) if (session.expiresAt <= now) this.byHash.delete(key);
  }
}

export function csrfMatches(session: Session, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(session.csrf).digest();
  return timingSafeEqual(a, b);
}

/** One cookie's value from a Cookie header (RFC 6265 pairs; the session value is base64url, so never quoted). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * Failed sign-ins per client address: past `limit` in `windowMs`, sign-in answers 429 until the
 * oldest failure leaves the window. Tokens are too long to guess, so this is about the load a
 * stream of bad tokens puts on the server (each JWT is checked against the JWKS), and about noise.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly now: () => number = Date.now,
    readonly limit = 10,
    readonly windowMs = 60_000,
  ) {}

  /** Milliseconds until `client` may try again; 0 when it may now. */
  retryAfter(client: string): number {
    const recent = this.recent(client);
    return recent.length < this.limit ? 0 : recent[0]! + this.windowMs - this.now();
  }

  failed(client: string): void {
    if (this.failures.size > 10_000) for (const key of [...this.failures.keys()]) this.recent(key);
    this.failures.set(client, [...this.recent(client), this.now()]);
  }

  private recent(client: string): number[] {
    const since = this.now() - this.windowMs;
    const kept = (this.failures.get(client) ?? []).filter((at) => at > since);
    if (kept.length === 0) this.failures.delete(client);
    else this.failures.set(client, kept);
    return kept;
  }
}
