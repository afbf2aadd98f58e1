import { alertSignal, type AlertSignalQueries } from '../analytics/alert-signals.js';
import { describeRange, type TimeRange } from '../analytics/time-range.js';
import { timingOf } from './engine.js';
import { describeRule, type AlertRule } from './rules.js';
import { walk } from './state.js';

/** One time the rule would have fired, and when it would have resolved. */
export interface Episode {
  group: string;
  fingerprint: string;
  condition_since: string;
  fired_at: string;
  resolved_at: string | null;
  /** The value when it fired, and the highest while firing (for rates, counts, ms: the worst). */
  value_at_fire: number;
  peak_value: number;
  threshold: number;
  reminders: number;
}

export interface BacktestReport {
  rule: string;
  condition: string;
  window: { from: string; to: string };
  episodes: Episode[];
  firings: number;
  resolutions: number;
  reminders: number;
  /** Messages that would have been sent: every firing, reminder and resolution, once per channel. */
  notifications: number;
  channels: string[];
  /** Times the condition held but ended before `for` (the alerts `for` spared). */
  held_shorter_than_for: number;
  /** Firings by group, most first: who would have been paged about most. */
  by_group: Array<{ group: string; firings: number }>;
}

/**
 * Replays a rule over a past window with the evaluator the server runs each minute: the same
 * signal, the same steps, starting from no alert. Pure over the database: nothing is stored or
 * sent, so a rule is tuned before it is enabled.
 */
export async function backtestRule(db: AlertSignalQueries, rule: AlertRule, range: TimeRange, tz?: string): Promise<BacktestReport> {
  const MIN = 60_000;
  const from = Math.ceil(range.from.getTime() / MIN) * MIN;
  const to = Math.floor((range.to.getTime() - 1) / MIN) * MIN;
  const signal = await alertSignal(db, rule, { from: new Date(from), to: new Date(to), tz });
  const timing = timingOf(rule);
  const { transitions } = walk(signal, new Map(), rule.name, from, to, timing);
  const episodes: Episode[] = [];
  const open = new Map<string, Episode>();
  for (const t of transitions) {
    const group = t.state.group;
    if (t.event === 'firing') {
      const episode: Episode = {
        group, fingerprint: t.state.fingerprint, condition_since: new Date(t.state.active_since).toISOString(), fired_at: new Date(t.at).toISOString(),
        resolved_at: null, value_at_fire: t.state.value, peak_value: t.state.value, threshold: t.state.threshold, reminders: 0,
      };
      episodes.push(episode);
      open.set(group, episode);
    } else if (t.event === 'repeat') {
      const episode = open.get(group);
      if (episode) episode.reminders++;
    } else {
      const episode = open.get(group);
      if (episode) episode.resolved_at = new Date(t.at).toISOString();
      open.delete(group);
    }
  }
  // Peaks: the highest value of the active points while each episode was open.
  for (const episode of episodes) {
    const end = episode.resolved_at ? Date.parse(episode.resolved_at) : Infinity;
    for (const point of signal.get(episode.group) ?? []) {
      if (point.active && point.at >= Date.parse(episode.fired_at) && point.at < end) episode.peak_value = Math.max(episode.peak_value, point.value);
    }
  }
  const firings = transitions.filter((t) => t.event === 'firing').length;
  const resolutions = transitions.filter((t) => t.event === 'resolved').length;
  const reminders = transitions.filter((t) => t.event === 'repeat').length;
  const held = countShortConditions(signal, timing.forMs);
  const byGroup = new Map<string, number>();
  for (const e of episodes) byGroup.set(e.group, (byGroup.get(e.group) ?? 0) + 1);
  return {
    rule: rule.name,
    condition: describeRule(rule),
    window: describeRange({ from: new Date(from), to: new Date(to + MIN) }),
    episodes,
    firings,
    resolutions,
    reminders,
    notifications: (firings + resolutions + reminders) * rule.channels.length,
    channels: rule.channels,
    held_shorter_than_for: held,
    by_group: [...byGroup].map(([group, n]) => ({ group, firings: n })).sort((a, b) => b.firings - a.firings || a.group.localeCompare(b.group)),
  };
}

/** Runs of the condition shorter than `for`: each would have been pending, then dropped. */
function countShortConditions(signal: Awaited<ReturnType<typeof alertSignal>>, forMs: number): number {
  if (forMs === 0) return 0;
  let count = 0;
  for (const points of signal.values()) {
    let since: number | undefined;
    for (const point of points) {
      if (point.active && since === undefined) since = point.at;
      if (!point.active && since !== undefined) {
        if (point.at - since <= forMs) count++;
        since = undefined;
      }
    }
  }
  return count;
}

/** The report in words, the ones a person or a model tunes the rule from. */
export function backtestText(report: BacktestReport, rule: AlertRule): string {
  const groups = report.by_group.map((g) => `${g.firings} for ${g.group || 'the fleet'}`).join(', ');
  const episodes = report.episodes.slice(0, 20).map((e) =>
    `${e.group ? `${e.group}: ` : ''}fired ${e.fired_at} (value ${e.value_at_fire}, peak ${e.peak_value}, threshold ${e.threshold})${e.resolved_at ? `, resolved ${e.resolved_at}` : ', still firing at the end'}`,
  );
  return [
    `Over ${report.window.from} .. ${report.window.to}, ${rule.name} (${report.condition}) would have fired ${report.firings} time(s)${groups ? ` (${groups})` : ''}, resolved ${report.resolutions}, reminded ${report.reminders}: ` +
      `${report.notifications} notification(s) on ${report.channels.length ? report.channels.join(', ') : 'no channel'}.` +
      (report.held_shorter_than_for ? ` ${report.held_shorter_than_for} more time(s) the condition held for less than for (${rule.for}).` : ''),
    ...episodes,
    report.episodes.length > 20 ? `...and ${report.episodes.length - 20} more episodes in the structured result.` : '',
    report.firings === 0 ? 'It never fired: lower the threshold or widen the window if it should have.' : 'Too many? Raise the threshold, min volume or for, and backtest again; then create_alert_rule or update_alert_rule.',
  ].filter(Boolean).join('\n');
}
