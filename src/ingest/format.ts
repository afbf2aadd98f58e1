/**
 * The execution log format, version 1 (README, "The log format"): its limits and the timestamp check.
 * The fields themselves are stated once, in rules.ts; the validator, the zod schema (schema.ts)
 * and the column types (columns.ts) are derived from there.
 */

/** Lines longer than this are quarantined as `line_too_long` without being parsed. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** How much of a quarantined line is kept for a human to look at. */
export const QUARANTINE_RAW_CAP = 8192;
/** A record that starts further than this in the future is quarantined. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
/**
 * The largest `tasks` and `cost_usd` of one execution (or step). Bounded so that no sum the tools
 * take (billions of executions) can overflow to Infinity, which would fail every answer over it.
 */
export const MAX_AMOUNT = 1e9;
/** The largest `duration_ms`: about 31 years. */
export const MAX_DURATION_MS = 1e12;
/** Step indexes are stored as 32-bit integers. */
export const MAX_STEP_INDEX = 2 ** 31 - 1;
/**
 * Payloads (input, output, unknown fields) nested deeper than this are quarantined: what reads
 * them back (serialisers, the MCP SDK) recurses, and a deep enough document overflows its stack.
 */
export const MAX_NESTING_DEPTH = 100;

export const RFC3339_WITH_ZONE_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits at `i` as a number, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * An RFC 3339 timestamp with a zone whose every part is in range (no February 30th, no hour 24):
 * what DuckDB's TIMESTAMPTZ cast accepts, so a record that passes here always stores. Checked by
 * position rather than by regular expression: it runs several times per record.
 */
export function isRfc3339WithZone(s: string): boolean {
  if (s.length < 20) return false;
  const c = two(s, 0);
  const y = two(s, 2);
  if (c < 0 || y < 0 || s[4] !== '-' || s[7] !== '-' || s[13] !== ':' || s[16] !== ':') return false;
  const t = s[10];
  if (t !== 'T' && t !== 't' && t !== ' ') return false;
  const year = c * 100 + y;
  const month = two(s, 5);
  const day = two(s, 8);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return false;
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  let i = 19;
  if (s[i] === '.') {
    i++;
    const digitsStart = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === digitsStart) return false;
  }
  const zone = s[i];
  if (zone === 'Z' || zone === 'z') return i + 1 === s.length;
  if (zone !== '+' && zone !== '-') return false;
  const zh = two(s, i + 1);
  const zm = two(s, i + 4);
  return i + 6 === s.length && s[i + 3] === ':' && zh >= 0 && zh <= 23 && zm >= 0 && zm <= 59;
}
