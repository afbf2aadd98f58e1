import { mapTree, redactText } from './redact.js';

/**
 * Masking keeps a payload's shape and key names and replaces every value with a marker of its
 * type and rough size, so an agent can still reason about the call ("the tool got a 40-char
 * string under `query`") without seeing the data. Keys are data too (a secret or an address can
 * be a key): they pass the redactor with e-mail addresses masked.
 */
export function maskValue(value: unknown): unknown {
  return mapTree(value, maskScalar, (key) => ({ key: redactText(key, { emails: true }) }));
}

function maskScalar(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'string') return `<masked string, ${roughSize(value.length)} chars>`;
  if (typeof value === 'number') return '<masked number>';
  if (typeof value === 'boolean') return '<masked boolean>';
  return '<masked>';
}

/** Exact lengths can identify a value (a 16-digit card number); a rough one keeps the shape. */
function roughSize(length: number): string {
  if (length < 10) return String(length);
  if (length < 100) return `~${Math.round(length / 5) * 5}`;
  return `~${Math.round(length / 50) * 50}`;
}
