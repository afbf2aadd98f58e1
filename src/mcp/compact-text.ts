/**
 * The structured result as compact text, for the many clients that give the model only the text
 * content: every field, with arrays of records as tables (a header once, then one line per row),
 * so that cursors, ids and the rows a summary speaks of can be acted on from the text alone.
 * Capped: rows past the cap are counted, not shown, and the structured result still has them.
 */

/** About 6k tokens: enough for a full page of any tool's rows. */
export const COMPACT_TEXT_CAP = 24_000;

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return /[\n|]/.test(v) || v === '' || v === '-' ? JSON.stringify(v) : v;
  return String(v);
}

/** A cell of a table: scalars as they are, anything nested as one-line JSON. */
const cell = (v: unknown) => (isScalar(v) || v === undefined ? scalar(v) : JSON.stringify(v));

export function compactText(value: unknown, cap = COMPACT_TEXT_CAP): string {
  const out: string[] = [];
  let size = 0;
  let cut = false;
  const push = (line: string): boolean => {
    if (size + line.length + 1 > cap) {
      cut = true;
      return false;
    }
    out.push(line);
    size += line.length + 1;
    return true;
  };
  const render = (v: unknown, indent: string, label: string): void => {
    if (cut) return;
    if (isScalar(v) || v === undefined) {
      push(`${indent}${label}: ${scalar(v)}`);
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) {
        push(`${indent}${label}: (none)`);
        return;
      }
      if (v.every(isScalar)) {
        push(`${indent}${label}: ${v.map(scalar).join(', ')}`);
        return;
      }
      if (v.every(isRecord)) {
        const columns = [...new Set(v.flatMap((row) => Object.keys(row)))];
        if (!push(`${indent}${label} (${v.length}):`) || !push(`${indent}  ${columns.join(' | ')}`)) return;
        for (let i = 0; i < v.length; i++) {
          if (!push(`${indent}  ${columns.map((c) => cell((v[i] as Json)[c])).join(' | ')}`)) {
            // Say what was left out, in the room the cap keeps for it.
            out.push(`${indent}  ... ${v.length - i} more row(s) in structuredContent`);
            return;
          }
        }
        return;
      }
      push(`${indent}${label}: ${JSON.stringify(v)}`);
      return;
    }
    const entries = Object.entries(v as Json).filter(([, x]) => x !== undefined);
    if (entries.length === 0) {
      push(`${indent}${label}: {}`);
      return;
    }
    if (label && !push(`${indent}${label}:`)) return;
    for (const [key, x] of entries) render(x, label ? `${indent}  ` : indent, key);
  };
  render(value, '', '');
  if (cut && !out.at(-1)?.includes('more row(s)')) out.push('... (cut at the text cap; the structured result has everything)');
  return out.join('\n');
}
