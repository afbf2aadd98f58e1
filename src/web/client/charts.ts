import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, num } from './dom.js';

/** Status colours, in stacking order (bottom first): the same in the dashboard and in an answer's chart. */
export const STATUS_COLORS: Record<string, string> = {
  succeeded: '#2f9e44',
  failed: '#e03131',
  terminated: '#9c36b5',
  stopped: '#f08c00',
  running: '#1c7ed6',
};
export const STATUSES = Object.keys(STATUS_COLORS);
const GRID = 'rgba(128, 128, 128, 0.25)';

export interface SeriesPoint {
  start: string;
  [status: string]: number | string;
}

export interface StackedOptions {
  width: number;
  height?: number;
  /** Called with the bucket clicked (its index in `points`). */
  onBucket?: (index: number) => void;
  /** Called with the status whose legend entry was clicked (the series narrows the page to it). */
  onSeries?: (status: string) => void;
  /** A bucket to draw as marked (the spike). */
  highlight?: { start: string; end: string };
}

/**
 * Executions by status as stacked bars over time. uPlot has no stacking of its own: each drawn
 * series is the running total up to its status, drawn tallest first so the shorter ones sit in
 * front; the legend shows each status's own count.
 */
export function stackedBars(points: SeriesPoint[], options: StackedOptions): HTMLElement {
  const xs = points.map((p) => Date.parse(p.start) / 1000);
  const own = STATUSES.map((s) => points.map((p) => Number(p[s] ?? 0)));
  const running: number[][] = [];
  own.forEach((values, i) => running.push(values.map((v, j) => v + (i > 0 ? running[i - 1]![j]! : 0))));
  const order = STATUSES.map((_, i) => i).reverse();
  const bars = uPlot.paths.bars!({ size: [0.85, Infinity], align: 1 });
  const step = xs.length > 1 ? xs[1]! - xs[0]! : 3600;
  const container = h('div', { class: 'chart', 'data-testid': 'status-chart' });
  const ink = getComputedStyle(document.documentElement).color || '#1d2433';
  const plot = new uPlot(
    {
      width: options.width,
      height: options.height ?? 260,
      scales: { x: { time: true, range: (_u, min, max) => [min, max + step] }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.05] } },
      // Axis text in the page's own text colour (an MCP Apps host may be dark).
      axes: [
        { stroke: ink, grid: { stroke: GRID }, ticks: { stroke: GRID } },
        { stroke: ink, grid: { stroke: GRID }, ticks: { stroke: GRID }, values: (_u, ticks) => ticks.map((t) => num(t)), size: 60 },
      ],
      legend: { live: true },
      // A bar covers its whole bucket [start, next start): the bucket under the pointer is the one
      // that contains it, not the nearest start (uPlot's default, wrong over a bar's right half).
      cursor: { drag: { x: false, y: false }, dataIdx: (_u, _s, closest, xValue) => bucketAt(xs, xValue, closest) },
      series: [
        {},
        ...order.map((i) => ({
          label: STATUSES[i]!,
          stroke: STATUS_COLORS[STATUSES[i]!]!,
          fill: STATUS_COLORS[STATUSES[i]!]!,
          paths: bars,
          points: { show: false },
          value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) => (idx === null ? '—' : num(own[i]![idx]!)),
        })),
      ],
      hooks: {
        // A click on a legend entry toggles its series in uPlot; here it narrows to that status.
        setSeries: options.onSeries ? [(_u: uPlot, i: number | null) => void (i !== null && i > 0 && options.onSeries!(STATUSES[order[i - 1]!]!))] : [],
        ...(options.highlight
        ? {
            drawClear: [
              (u: uPlot) => {
                const from = u.valToPos(Date.parse(options.highlight!.start) / 1000, 'x', true);
                const to = u.valToPos(Date.parse(options.highlight!.end) / 1000, 'x', true);
                u.ctx.save();
                u.ctx.fillStyle = 'rgba(255, 212, 59, 0.35)';
                u.ctx.fillRect(from, u.bbox.top, Math.max(2, to - from), u.bbox.height);
                u.ctx.restore();
              },
            ],
          }
        : {}),
      },
    },
    [xs, ...order.map((i) => running[i]!)] as uPlot.AlignedData,
    container,
  );
  container.dataset.buckets = String(xs.length);
  if (options.onBucket) {
    plot.over.style.cursor = 'pointer';
    plot.over.addEventListener('click', () => {
      const left = plot.cursor.left ?? -1;
      const idx = left < 0 ? -1 : bucketAt(xs, plot.posToVal(left, 'x'), -1);
      if (idx >= 0) options.onBucket!(idx);
    });
  }
  return container;
}

function bucketAt(starts: number[], value: number, fallback: number): number {
  if (!(value >= (starts[0] ?? Infinity))) return fallback;
  let i = starts.length - 1;
  while (i > 0 && starts[i]! > value) i--;
  return i;
}

/** Horizontal bars for a ranking (cost per user, failures per layer): plain elements, readable without a canvas. */
export function rankBars(rows: Array<{ label: string; value: number; detail?: string }>, options: { onRow?: (index: number) => void; color?: string } = {}): HTMLElement {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h(
    'div',
    { class: 'rank', 'data-testid': 'rank-chart' },
    ...rows.map((row, i) => {
      const bar = h('div', { class: 'rank-bar' });
      bar.style.width = `${(row.value / max) * 100}%`;
      if (options.color) bar.style.background = options.color;
      const line = h('div', { class: `rank-row${options.onRow ? ' clickable' : ''}` }, h('span', { class: 'rank-label', title: row.label }, row.label), h('span', { class: 'rank-track' }, bar), h('span', { class: 'rank-value' }, row.detail ?? num(row.value)));
      if (options.onRow) line.addEventListener('click', () => options.onRow!(i));
      return line;
    }),
  );
}
