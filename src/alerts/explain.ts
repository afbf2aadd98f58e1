import { sampleExecutions, seriesBefore } from '../analytics/alert-signals.js';
import type { Filters } from '../analytics/filters.js';
import type { AnalyticsBackend } from '../analytics/backend.js';
import { whoDroveSpike, type Contributor } from '../analytics/spike.js';
import { describeRule, groupBy, ms, type AlertRule } from './rules.js';
import type { AlertState } from './state.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** The filter a group stands for, when its dimension is one the tools filter on. */
const GROUP_FILTER: Record<string, keyof Filters> = { tool: 'tool', server: 'server', user: 'user', team: 'team', client: 'client', environment: 'environment' };

/** The rule's filters narrowed to one alert's group (a budget's group also names its period: its value is in the detail). */
export function groupFilters(rule: AlertRule, state: Pick<AlertState, 'group' | 'detail'>): Filters {
  const dimension = groupBy(rule);
  const key = dimension ? GROUP_FILTER[dimension] : undefined;
  const value = typeof state.detail?.group_value === 'string' ? state.detail.group_value : state.group;
  if (!key || !value || value === '(none)') return { ...rule.filters };
  return { ...rule.filters, [key]: value };
}

export interface Explanation {
  condition: string;
  value: number;
  threshold: number;
  volume: number;
  measured_at: string;
  detail?: Record<string, unknown>;
  series?: Array<{ start: string; executions: number; failed: number; p95_ms: number | null }>;
  series_bucket_minutes?: number;
  top_contributors?: { users: Brief[]; tools: Brief[]; user_tool_pairs: Brief[]; clients: Brief[] };
  sample_execution_ids?: string[];
  next: string;
}

type Brief = Pick<Contributor, 'key' | 'executions' | 'baseline' | 'excess' | 'share_of_excess'>;

const EXECUTION_KINDS = new Set(['error_rate', 'failures', 'latency_p95', 'volume_spike', 'budget']);

/**
 * Why an alert fired, in one object: the value against the threshold, the series before it, who
 * and what drove it (ranked as who_drove_spike ranks them, against their own baseline) and
 * execution ids to trace, so that "why did this fire?" needs no second call.
 */
export async function explain(backend: AnalyticsBackend, rule: AlertRule, state: AlertState, at: number): Promise<Explanation> {
  const base: Explanation = {
    condition: describeRule(rule),
    value: state.value,
    threshold: state.threshold,
    volume: state.volume,
    measured_at: new Date(at).toISOString(),
    ...(state.detail ? { detail: state.detail } : {}),
    next: nextStep(rule, state),
  };
  if (!EXECUTION_KINDS.has(rule.kind)) return base;
  const filters = groupFilters(rule, state);
  const window = 'window' in rule ? ms(rule.window) : rule.kind === 'volume_spike' ? HOUR : DAY;
  const bucketMs = Math.max(MIN, Math.round(window / 3 / MIN) * MIN);
  const to = new Date(at);
  const failuresOnly = rule.kind === 'error_rate' || rule.kind === 'failures' || (rule.kind === 'volume_spike' && rule.measure === 'failures');
  const series = await seriesBefore(backend.alertSignals, { filters, to, bucketMs, buckets: 12 });
  // who_drove_spike over the day before, taking the bucket that holds the alert's last minute.
  const spike = await whoDroveSpike(backend, {
    range: { from: new Date(at - DAY), to },
    filters: failuresOnly ? { ...filters, status: 'failed' } : filters,
    at: new Date(at - 1),
    limit: 3,
  });
  const brief = (list: Contributor[]): Brief[] => list.map(({ key, executions, baseline, excess, share_of_excess }) => ({ key, executions, baseline, excess, share_of_excess }));
  const samples = await sampleExecutions(backend.alertSignals, {
    filters,
    from: new Date(at - window),
    to,
    pick: failuresOnly ? 'failed' : rule.kind === 'latency_p95' ? 'slowest' : 'latest',
    limit: 5,
  });
  return {
    ...base,
    series,
    series_bucket_minutes: bucketMs / MIN,
    top_contributors: {
      users: brief(spike.contributors.users),
      tools: brief(spike.contributors.tools),
      user_tool_pairs: brief(spike.contributors.user_tool_pairs),
      clients: brief(spike.contributors.clients),
    },
    sample_execution_ids: samples,
  };
}

/** The tool call that digs into an alert. */
function nextStep(rule: AlertRule, state: AlertState): string {
  const args = Object.entries(groupFilters(rule, state)).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const scope = args.length ? `, ${args.join(', ')}` : '';
  switch (rule.kind) {
    case 'error_rate':
    case 'failures':
      return `failure_report (window 24h${scope}), then trace_execution on a sample id`;
    case 'latency_p95':
      return `tool_usage (window 24h${scope}), then trace_execution on a sample id`;
    case 'volume_spike':
      return `who_drove_spike (window 24h${scope})`;
    case 'budget':
      return `cost_by_user and cost_by_tool (window this_${rule.period}${scope})`;
    case 'feed_silence':
      return 'usage_summary (window 24h) and list_executions to see when the feed stopped';
    case 'unused_tool':
      return `unused_tools (window ${rule.days}d)`;
    case 'unmask_activity':
      return `audit_log (action unmask, actor ${JSON.stringify(state.group)})`;
    case 'tool_definition_changed':
      return `fleet_catalog (server ${JSON.stringify(state.group)}): the tool lists and their versions`;
    case 'export_lag':
      return `export_status: sink ${JSON.stringify(state.group)}'s last error`;
  }
}
