/**
 * The secret redactor. Tool output goes into an LLM's context, so everything a tool returns
 * (except an audited unmask) passes through here, the caller's own data included.
 */

const SECRET_PATTERNS: Array<{ name: string; pattern: RegExp }> = [
  { name: 'aws_access_key', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { name: 'github_token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g },
  { name: 'github_pat', pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g },
  { name: 'slack_token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { name: 'stripe_key', pattern: /\b(?:sk|rk)_live_[A-Za-z0-9]{10,}\b/g },
  { name: 'webhook_secret', pattern: /\bwhsec_[A-Za-z0-9+/=]{10,}\b/g },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g },
  { name: 'private_key', pattern: /-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z ]+ )?PRIVATE KEY-----/g },
];

/** Card numbers: 13-19 digits, spaces or dashes allowed between groups; redacted only if Luhn-valid. */
const CARD_CANDIDATE = /\b\d(?:[ -]?\d){12,18}\b/g;

const SENSITIVE_KEY = /password|passwd|token|secret|api[_-]?key|authorization|cookie/i;

export interface RedactorOptions {
  enabled: boolean;
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

export function redactString(text: string): string {
  let out = text;
  for (const { name, pattern } of SECRET_PATTERNS) out = out.replace(pattern, `[REDACTED:${name}]`);
  out = out.replace(CARD_CANDIDATE, (match) => {
    const digits = match.replace(/[ -]/g, '');
    return digits.length >= 13 && luhnValid(digits) ? '[REDACTED:card_number]' : match;
  });
  return out;
}

/** Deep copy of `value` with secrets replaced; values under sensitive key names are dropped whole. */
export function redact(value: unknown, options: RedactorOptions = { enabled: true }): unknown {
  if (!options.enabled) return value;
  return walk(value);
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.map(walk);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, v]) => [
        key,
        SENSITIVE_KEY.test(key) && v !== null && v !== undefined && typeof v !== 'boolean' ? `[REDACTED:${key}]` : walk(v),
      ]),
    );
  }
  return value;
}
