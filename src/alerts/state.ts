import { createHash } from 'node:crypto';
import type { Signal, SignalPoint } from '../analytics/alert-signals.js';

/**
 * The life of one alert (a rule and a group): pending while its condition holds for less than
 * `for`, firing after, resolved when the condition ends. Pure: live evaluation and backtests walk
 * the same steps over the same signal, so they fire at the same ticks.
 */

export type AlertStatus = 'pending' | 'firing' | 'resolved';
export type AlertEvent = 'firing' | 'repeat' | 'resolved';

export interface AlertState {
  fingerprint: string;
  rule: string;
  group: string;
  status: AlertStatus;
  /** When the condition started to hold (epoch ms). */
  active_since: number;
  fired_at: number | null;
  resolved_at: number | null;
  last_notified_at: number | null;
  value: number;
  threshold: number;
  volume: number;
  detail?: Record<string, unknown>;
}

export interface Transition {
  event: AlertEvent;
  at: number;
  state: AlertState;
}

export interface Timing {
  forMs: number;
  repeatMs: number;
}

/** Stable per rule and group: the same alert keeps it across restarts, backtests and receivers (dedup keys). */
export function fingerprint(rule: string, group: string): string {
  return createHash('sha256').update(`${rule}\u0000${group}`).digest('hex').slice(0, 16);
}

/** One evaluation tick of one alert. */
export function step(
  state: AlertState | undefined,
  point: SignalPoint | undefined,
  at: number,
  rule: string,
  group: string,
  timing: Timing,
): { state: AlertState | undefined; event?: AlertEvent } {
  const measured = point ? { value: point.value, threshold: point.threshold, volume: point.volume, detail: point.detail } : {};
  if (point?.active) {
    if (!state || state.status === 'resolved') {
      const fresh: AlertState = {
        fingerprint: fingerprint(rule, group), rule, group, status: 'pending', active_since: at,
        fired_at: null, resolved_at: null, last_notified_at: null, value: point.value, threshold: point.threshold, volume: point.volume, detail: point.detail,
      };
      return timing.forMs === 0 ? { state: { ...fresh, status: 'firing', fired_at: at, last_notified_at: at }, event: 'firing' } : { state: fresh };
    }
    if (state.status === 'pending') {
      if (at - state.active_since >= timing.forMs) return { state: { ...state, ...measured, status: 'firing', fired_at: at, last_notified_at: at }, event: 'firing' };
      return { state: { ...state, ...measured } };
    }
    if (at - (state.last_notified_at ?? at) >= timing.repeatMs) return { state: { ...state, ...measured, last_notified_at: at }, event: 'repeat' };
    return { state: { ...state, ...measured } };
  }
  if (!state || state.status === 'resolved') return { state };
  // A condition that ends before `for` never becomes an alert.
  if (state.status === 'pending') return { state: undefined };
  return { state: { ...state, ...(point ? { value: point.value, volume: point.volume } : {}), status: 'resolved', resolved_at: at }, event: 'resolved' };
}

const MIN = 60_000;

/**
 * Walks every tick in [from, to] (whole minutes) for every group of the signal and every alert
 * already open, from their current states. Only the ticks where something can change are
 * visited (a point, the end of `for`, a reminder due); the steps in between would change nothing.
 */
export function walk(
  signal: Signal,
  states: ReadonlyMap<string, AlertState>,
  rule: string,
  from: number,
  to: number,
  timing: Timing,
): { states: Map<string, AlertState>; transitions: Transition[] } {
  const groups = new Set<string>([...signal.keys(), ...[...states.values()].map((s) => s.group)]);
  const next = new Map<string, AlertState>();
  const transitions: Transition[] = [];
  for (const group of groups) {
    const points = signal.get(group) ?? [];
    let state = states.get(group);
    let at = from;
    let index = -1; // the last point at or before `at`
    while (at <= to) {
      while (index + 1 < points.length && points[index + 1]!.at <= at) index++;
      const result = step(state, points[index], at, rule, group, timing);
      state = result.state;
      if (result.event) transitions.push({ event: result.event, at, state: result.state! });
      // The next tick where something can happen: a point, the end of `for`, a reminder due.
      const nextPoint = points[index + 1]?.at ?? Infinity;
      let due = Infinity;
      if (state?.status === 'pending') due = state.active_since + timing.forMs;
      if (state?.status === 'firing') due = (state.last_notified_at ?? at) + timing.repeatMs;
      at = Math.max(at + MIN, Math.min(nextPoint, due));
    }
    if (state) next.set(group, state);
  }
  transitions.sort((a, b) => a.at - b.at || a.state.group.localeCompare(b.state.group));
  return { states: next, transitions };
}
