import { MAX_NESTING_DEPTH } from './format.js';

type Json = Record<string, unknown>;

/** A `\uD800`-`\uDFFF` escape: only a line that has one can hold a lone surrogate. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * What a record the format accepts may still hold that the store cannot: a lone UTF-16 surrogate
 * (DuckDB's JSON reader refuses the line, and with it the whole batch), or payloads nested deeper
 * than MAX_NESTING_DEPTH. Returns the quarantine reason naming the field, or null. Both checks look
 * only where the problem can be: surrogates only on lines with such an escape, depth only in payloads.
 */
export function unstorableReason(record: Json, text: string, unknown: Json | null): string | null {
  if (SURROGATE_ESCAPE.test(text)) {
    for (const [field, value] of fieldsOf(record)) {
      if (!field.isWellFormed() || !wellFormed(value)) return `invalid_value:${field.toWellFormed()} (a lone UTF-16 surrogate, which is not text)`;
    }
  }
  // Depth, on the payloads only: the format fixes the shape of every other field, and steps keep
  // nothing but their input and output.
  if (tooDeep(record.input)) return tooDeepReason('input');
  if (tooDeep(record.output)) return tooDeepReason('output');
  const steps = record.steps;
  if (Array.isArray(steps)) {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      // A record not yet validated (a JSON body's item) may have anything here.
      if (step === null || typeof step !== 'object') continue;
      if (tooDeep((step as Json).input)) return tooDeepReason(`steps[${i}].input`);
      if (tooDeep((step as Json).output)) return tooDeepReason(`steps[${i}].output`);
    }
  }
  if (unknown) {
    for (const key in unknown) if (tooDeep(unknown[key])) return tooDeepReason(key);
  }
  return null;
}

const tooDeepReason = (field: string) => `too_deep:${field} (nested deeper than ${MAX_NESTING_DEPTH} levels)`;
const tooDeep = (value: unknown) => value !== null && typeof value === 'object' && depthOver(value, 1, MAX_NESTING_DEPTH);

/**
 * Whether `value`, a container at `depth`, nests deeper than `max`. Recursive, but never deeper
 * than `max` frames: it returns as soon as it passes the limit.
 */
function depthOver(value: object, depth: number, max: number): boolean {
  if (depth > max) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === 'object' && depthOver(item, depth + 1, max)) return true;
    }
  } else {
    for (const key in value) {
      const item: unknown = (value as Json)[key];
      if (item !== null && typeof item === 'object' && depthOver(item, depth + 1, max)) return true;
    }
  }
  return false;
}

/** Whether `value` nests containers deeper than `max` levels (itself counting as one). */
export function nestingExceeds(value: unknown, max: number): boolean {
  return value !== null && typeof value === 'object' && depthOver(value, 1, max);
}

/** The record's top-level fields, with each step's fields as `steps[i].<field>`. */
function* fieldsOf(record: Json): Generator<[string, unknown]> {
  for (const [key, value] of Object.entries(record)) {
    if (key === 'steps' && Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const step = value[i];
        if (step !== null && typeof step === 'object' && !Array.isArray(step)) {
          for (const [k, v] of Object.entries(step as Json)) yield [`steps[${i}].${k}`, v];
        }
      }
      continue;
    }
    yield [key, value];
  }
}

/** Every string and key in `value` is well-formed Unicode (no lone surrogate). */
function wellFormed(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (!v.isWellFormed()) return false;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        if (!k.isWellFormed()) return false;
        stack.push(item);
      }
    }
  }
  return true;
}
