/** Small DOM helpers for the dashboard and the MCP Apps view: elements are built, never parsed from HTML, so no logged value is ever markup. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (key === 'class') el.className = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  return el;
}

export interface Column<R> {
  label: string;
  value: (row: R) => Child;
  numeric?: boolean;
}

/** A table of rows; `onRow` makes each row a link-like target (keyboard too). */
export function table<R>(columns: Array<Column<R>>, rows: R[], options: { onRow?: (row: R) => void; rowClass?: (row: R) => string | undefined; empty?: string; testid?: string } = {}): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, options.empty ?? 'Nothing in this window.');
  const head = h('tr', {}, ...columns.map((c) => h('th', { class: c.numeric ? 'num' : undefined }, c.label)));
  const body = rows.map((row) => {
    const tr = h('tr', { class: [options.rowClass?.(row), options.onRow ? 'clickable' : undefined].filter(Boolean).join(' ') || undefined }, ...columns.map((c) => h('td', { class: c.numeric ? 'num' : undefined }, c.value(row))));
    if (options.onRow) {
      tr.tabIndex = 0;
      tr.addEventListener('click', () => options.onRow!(row));
      tr.addEventListener('keydown', (e) => {
        if ((e as KeyboardEvent).key === 'Enter') options.onRow!(row);
      });
    }
    return tr;
  });
  return h('table', { 'data-testid': options.testid }, h('thead', {}, head), h('tbody', {}, ...body));
}

export const num = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: 2 }));
export const pct = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : `${(value * 100).toLocaleString('en-US', { maximumFractionDigits: 1 })}%`);
export const usd = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
export const ms = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} s`);
export const when = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—');
export const signed = (value: number): string => `${value > 0 ? '+' : ''}${num(value)}`;

/** A stored value shown as JSON (payloads, attributes): as text, never as markup. */
export function json(value: unknown): HTMLElement {
  return h('pre', { class: 'json' }, value === undefined ? '—' : JSON.stringify(value, null, 2));
}
