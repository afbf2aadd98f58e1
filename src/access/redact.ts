/**
 * The secret redactor. Tool output goes into an LLM's context, so everything a tool returns
 * (except an audited unmask) passes through here, the caller's own data included: every string,
 * whatever field it sits in, and every object key.
 */

interface SecretPattern {
  name: string;
  pattern: RegExp;
  /** The replacement; by default the whole match becomes `[REDACTED:name]`. */
  replace?: (match: string, ...groups: string[]) => string;
  /** A last check on a candidate match, for shapes too broad for a pattern alone. */
  accept?: (match: string) => boolean;
}

const redacted = (name: string) => `[REDACTED:${name}]`;

/** Names that mark the value after them as a credential, in `name=value` text and as object keys. */
const SECRET_NAMES =
  'password|passwd|pwd|passphrase|secret|client_secret|secret_key|aws_secret_access_key|private_key_id|private_key|' +
  'api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|auth[_-]?token|token|cookie|authorization';

const SECRET_PATTERNS: SecretPattern[] = [
  // Blocks first: what they contain must not be matched piecemeal. A block cut off by a cap
  // (no END line) is redacted to the end of the text.
  { name: 'private_key', pattern: /-----BEGIN (?:[A-Z0-9 ]+ )?PRIVATE KEY-----(?:[\s\S]*?-----END (?:[A-Z0-9 ]+ )?PRIVATE KEY-----|[\s\S]*$)/g },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  // `Authorization: Bearer x`, `Basic dXNlcjpwdw==`: the scheme stays, the credential goes.
  { name: 'bearer', pattern: /\b([Bb]earer)\s+[A-Za-z0-9._~+/=-]{6,}/g, replace: (_m, scheme) => `${scheme} ${redacted('credential')}` },
  {
    name: 'basic',
    pattern: /\b(Basic)\s+[A-Za-z0-9+/]{6,}={0,2}/g,
    // Only what decodes to user:password, so that "Basic setup" stays prose.
    accept: (m) => Buffer.from(m.slice(m.search(/\s/)).trim(), 'base64').toString('utf8').includes(':'),
    replace: (_m, scheme) => `${scheme} ${redacted('credential')}`,
  },
  // Credentials in URLs: https://user:password@host, https://token@host.
  { name: 'url_credentials', pattern: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, replace: (_m, scheme) => `${scheme}${redacted('url_credentials')}@` },
  // Bounded by letters and digits, not \b: a key glued into a name with an underscore
  // (tool_AKIA...) is a word character away from its neighbour, and \b missed it.
  { name: 'aws_access_key', pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Za-z0-9])/g },
  { name: 'github_token', pattern: /(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9])/g },
  { name: 'github_pat', pattern: /(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,255}(?![A-Za-z0-9])/g },
  { name: 'slack_token', pattern: /\bxox[abposrec]-[A-Za-z0-9-]{10,}/g },
  { name: 'slack_token', pattern: /\bxapp-\d-[A-Za-z0-9-]{10,}/g },
  { name: 'slack_webhook', pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]+/g },
  { name: 'stripe_key', pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}\b/g },
  { name: 'webhook_secret', pattern: /\bwhsec_[A-Za-z0-9+/=]{10,}/g },
  { name: 'google_api_key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { name: 'openai_key', pattern: /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b/g },
  // `password=hunter2`, `"client_secret": "x"`, `pwd: x`: the name stays, the value goes.
  {
    name: 'secret_value',
    pattern: new RegExp(`(["']?)\\b([A-Za-z0-9_-]*(?:${SECRET_NAMES}))\\1(\\s*[=:]\\s*)("[^"]*"|'[^']*'|[^\\s&,;"'}\\]]+)`, 'gi'),
    replace: (match, quote, name, sep, value) => (value.startsWith('[REDACTED') ? match : `${quote}${name}${quote}${sep}${redacted(name.toLowerCase())}`),
  },
  // AWS secret access keys have no prefix: 40 characters of base64 with upper case, lower case and
  // digits (a git SHA-1, all lower-case hex, does not qualify).
  {
    name: 'aws_secret_key',
    pattern: /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
    accept: (m) => /[A-Z]/.test(m) && /[a-z]/.test(m) && /[0-9]/.test(m),
  },
];

/** Card numbers: 13-19 digits, spaces or dashes allowed between groups; redacted only if Luhn-valid. */
const CARD_CANDIDATE = /\b\d(?:[ -]?\d){12,18}\b/g;

const SENSITIVE_KEY = new RegExp(SECRET_NAMES, 'i');

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

export interface RedactorOptions {
  enabled: boolean;
  /**
   * Also redact numbers that are card numbers (13-19 digits, Luhn-valid). Only for payloads: a
   * metric such as an epoch in milliseconds has 13 digits and passes Luhn one time in ten.
   */
  numbers?: boolean;
  /** Also mask e-mail addresses (free text of records the caller does not own). */
  emails?: boolean;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

const isCard = (digits: string) => digits.length >= 13 && digits.length <= 19 && luhnValid(digits);

/**
 * What every secret shape above needs somewhere in the text: a string without any of these (most
 * ids, names, times and statuses) cannot match a pattern, and skips them all.
 */
const MAY_HOLD_SECRET = new RegExp(
  [
    'PRIVATE KEY', 'eyJ', '[Bb]earer', 'Basic', ':\\/\\/', '(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)', 'gh[pousr]_', 'github_pat_', 'xox', 'xapp-',
    '_(?:live|test)_', 'whsec_', 'AIza', 'sk-', SECRET_NAMES, '[A-Za-z0-9/+]{40}', '\\d(?:[ -]?\\d){12}',
  ].join('|'),
  'i',
);

/** Short strings repeat (keys, tool names, statuses): their redaction is remembered. */
const SHORT = 64;
const cache = new Map<string, string>();

export function redactString(text: string): string {
  if (text.length <= SHORT) {
    const hit = cache.get(text);
    if (hit !== undefined) return hit;
    const out = redactUncached(text);
    if (cache.size >= 10_000) cache.clear();
    cache.set(text, out);
    return out;
  }
  return redactUncached(text);
}

function redactUncached(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  let out = text;
  for (const { name, pattern, replace, accept } of SECRET_PATTERNS) {
    out = out.replace(pattern, (match: string, ...groups: unknown[]) => {
      if (accept && !accept(match)) return match;
      return replace ? replace(match, ...(groups.filter((g) => typeof g === 'string') as string[])) : redacted(name);
    });
  }
  return out.replace(CARD_CANDIDATE, (match) => (isCard(match.replace(/[ -]/g, '')) ? redacted('card_number') : match));
}

/** E-mail addresses replaced by a marker that keeps their domain (which organisation, not who). */
export function maskEmails(text: string): string {
  return text.replace(EMAIL, (match) => `[email@${match.slice(match.lastIndexOf('@') + 1)}]`);
}

/** A string as a caller may see it: secrets redacted, and e-mail addresses too when asked. */
export function redactText(text: string, options: { emails?: boolean } = {}): string {
  const out = redactString(text);
  return options.emails ? maskEmails(out) : out;
}

/**
 * Deep copy of `value` with secrets replaced, in keys as in values; values under sensitive key
 * names are dropped whole. Iterative, so no depth of nesting can overflow the stack.
 */
export function redact(value: unknown, options: RedactorOptions = { enabled: true }): unknown {
  if (!options.enabled) return value;
  const text = (s: string) => redactText(s, options);
  const leaf = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (options.numbers && typeof v === 'number' && Number.isInteger(v) && v > 0 && isCard(String(v))) return redacted('card_number');
    return v;
  };
  return mapTree(value, leaf, (key, v) => {
    const safeKey = text(key);
    // A key that is itself a marker (redacted earlier) names no field.
    const drop = !key.startsWith('[REDACTED:') && SENSITIVE_KEY.test(key) && v !== null && v !== undefined && typeof v !== 'boolean';
    return { key: safeKey, replace: drop ? redacted(safeKey) : undefined };
  });
}

/**
 * Rebuilds a JSON-like tree bottom-up without recursion: `leaf` maps scalars, `entry` names each
 * object key (and may replace its value outright). Keys that collide once renamed get `#2`, `#3`.
 */
export function mapTree(
  root: unknown,
  leaf: (value: unknown) => unknown,
  entry?: (key: string, value: unknown) => { key: string; replace?: unknown },
): unknown {
  type Frame = { source: unknown[] | Record<string, unknown>; keys: string[]; out: unknown[] | Record<string, unknown>; i: number; slot?: (v: unknown) => void };
  const isContainer = (v: unknown): v is unknown[] | Record<string, unknown> => v !== null && typeof v === 'object';
  if (!isContainer(root)) return leaf(root);
  let result: unknown;
  const open = (source: unknown[] | Record<string, unknown>, slot: (v: unknown) => void): Frame => {
    const out = Array.isArray(source) ? new Array<unknown>(source.length) : {};
    slot(out);
    return { source, keys: Array.isArray(source) ? [] : Object.keys(source), out, i: 0 };
  };
  const stack: Frame[] = [open(root, (v) => (result = v))];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const { source, out } = frame;
    const length = Array.isArray(source) ? source.length : frame.keys.length;
    if (frame.i >= length) {
      stack.pop();
      continue;
    }
    const index = frame.i++;
    let value: unknown;
    let put: (v: unknown) => void;
    if (Array.isArray(source)) {
      value = source[index];
      put = (v) => ((out as unknown[])[index] = v);
    } else {
      const key = frame.keys[index]!;
      value = source[key];
      const named = entry ? entry(key, value) : { key };
      let name = named.key;
      for (let n = 2; Object.prototype.hasOwnProperty.call(out, name); n++) name = `${named.key}#${n}`;
      if (named.replace !== undefined) {
        setOwn(out as Record<string, unknown>, name, named.replace);
        continue;
      }
      put = (v) => setOwn(out as Record<string, unknown>, name, v);
    }
    if (isContainer(value)) stack.push(open(value, put));
    else put(leaf(value));
  }
  return result;
}

/** An own property even for `__proto__`, which plain assignment would turn into a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
