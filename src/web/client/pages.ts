import { callTool, currentSession, type ToolAnswer } from './api.js';
import { rankBars, stackedBars, STATUS_COLORS, type SeriesPoint } from './charts.js';
import { h, json, ms, num, pct, signed, table, usd, when } from './dom.js';

/** What a page needs from the router: its query, and a way to move to another URL. */
export interface PageContext {
  params: URLSearchParams;
  /** The path's argument (the execution id of /trace/:id). */
  arg?: string;
  go: (path: string, params?: Record<string, string | undefined>) => void;
  width: number;
}

export interface Page<D = any> {
  title: string;
  /** Shows the window picker. */
  windowed?: boolean;
  defaultWindow?: string;
  adminOnly?: boolean;
  load: (c: PageContext) => Promise<D>;
  view: (data: D, c: PageContext) => HTMLElement;
}

export const FILTERS = ['tool', 'user', 'team', 'server', 'client', 'environment', 'status'] as const;

/** The tool arguments a URL names: its window (or from/to) and filters. */
export function windowArgs(params: URLSearchParams, defaultWindow: string): Record<string, string> {
  const args: Record<string, string> = {};
  if (params.get('from')) {
    args.from = params.get('from')!;
    if (params.get('to')) args.to = params.get('to')!;
  } else args.window = params.get('window') ?? defaultWindow;
  if (params.get('tz')) args.tz = params.get('tz')!;
  return args;
}

export function filterArgs(params: URLSearchParams, only: readonly string[] = FILTERS): Record<string, string> {
  const args: Record<string, string> = {};
  for (const key of only) if (params.get(key)) args[key] = params.get(key)!;
  return args;
}

/** The current query as a plain object, with changes: what a link to a narrower view carries. */
export function withParams(params: URLSearchParams, changes: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...Object.fromEntries(params), ...changes };
}

const kpi = (label: string, value: string, detail?: HTMLElement | string, testid?: string) =>
  h('div', { class: 'kpi', 'data-testid': testid }, h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, value), detail ? h('div', { class: 'kpi-detail' }, detail) : null);

const section = (title: string, ...body: Array<Node | null>) => h('section', {}, h('h2', {}, title), ...body);
const summary = (text: string) => h('p', { class: 'summary', 'data-testid': 'summary' }, text);

/** The end of a series bucket: the next bucket's start, or the window's end for the last. */
function bucketRange(series: SeriesPoint[], index: number, windowTo: string): { from: string; to: string } {
  return { from: series[index]!.start, to: series[index + 1]?.start ?? windowTo };
}

const traceLink = (c: PageContext, id: string) => h('a', { href: `/trace/${encodeURIComponent(id)}`, onclick: (e: Event) => (e.preventDefault(), c.go(`/trace/${encodeURIComponent(id)}`)) }, id);

// ---------------------------------------------------------------------------------------------

export const overview: Page = {
  title: 'Overview',
  windowed: true,
  defaultWindow: '7d',
  async load(c) {
    const args = { ...windowArgs(c.params, '7d'), ...filterArgs(c.params) };
    const [usage, cost, tools, users] = await Promise.all([
      callTool('usage_summary', args),
      callTool('cost_by_tool', { ...args, limit: 1 }),
      callTool('tool_usage', { ...args, by: 'tool', limit: 10 }),
      callTool('tool_usage', { ...args, by: 'user', limit: 10 }),
    ]);
    return { usage, cost, tools, users };
  },
  view({ usage, cost, tools, users }, c) {
    const u = usage.structured;
    const change = u.change.caveat
      ? h('span', { class: 'flag', 'data-testid': 'change-flag', title: u.change.caveat }, `no comparison: ${u.change.caveat}`)
      : u.change.percent === null
        ? h('span', { class: 'flag', 'data-testid': 'change-flag' }, 'previous window has no data')
        : h('span', { class: u.change.delta >= 0 ? 'up' : 'down' }, `${signed(u.change.delta)} (${u.change.percent > 0 ? '+' : ''}${u.change.percent}%) vs previous`);
    const drill = (extra: Record<string, string | undefined>) => c.go('/drill', withParams(c.params, extra));
    return h(
      'div',
      {},
      summary(usage.summary),
      h(
        'div',
        { class: 'kpis' },
        kpi('Executions', num(u.total_executions), change, 'kpi-executions'),
        kpi('Success rate', pct(u.success_rate), `${num(u.by_status.failed)} failed, ${num(u.by_status.terminated)} terminated`, 'kpi-success'),
        kpi('Active users', num(u.active_users.total), `${u.active_users.workflow_tool_users} workflow · ${u.active_users.connector_tool_users} connector`, 'kpi-users'),
        kpi('Tasks', num(u.tasks), undefined, 'kpi-tasks'),
        kpi('Cost', usd(cost.structured.total_cost_usd), cost.structured.share_with_cost_usd !== null && cost.structured.share_with_cost_usd < 1 ? `${pct(cost.structured.share_with_cost_usd)} of executions carry a price` : undefined, 'kpi-cost'),
      ),
      section(
        `Executions by status, per ${u.bucket} (click a bar or a status to drill in)`,
        stackedBars(u.series, { width: c.width, onBucket: (i) => drill({ window: undefined, ...bucketRange(u.series, i, u.window.to) }), onSeries: (status) => drill({ status }) }),
      ),
      h(
        'div',
        { class: 'columns' },
        section('Top tools', table([{ label: 'Tool', value: (r: any) => r.key }, { label: 'Runs', value: (r: any) => num(r.runs), numeric: true }, { label: 'Success', value: (r: any) => pct(r.success_rate), numeric: true }, { label: 'p95', value: (r: any) => ms(r.p95_duration_ms), numeric: true }], tools.structured.rows, { onRow: (r: any) => drill({ tool: r.key }), testid: 'top-tools' })),
        section('Top users', table([{ label: 'User', value: (r: any) => r.key }, { label: 'Runs', value: (r: any) => num(r.runs), numeric: true }, { label: 'Failures', value: (r: any) => num(r.failures), numeric: true }, { label: 'Tasks', value: (r: any) => num(r.tasks), numeric: true }], users.structured.rows, { testid: 'top-users' })),
      ),
    );
  },
};

/** From a bucket (or the whole window) to the tools in it, the users of one tool, their executions. */
export const drill: Page = {
  title: 'Drill-down',
  windowed: true,
  defaultWindow: '7d',
  async load(c) {
    const args = { ...windowArgs(c.params, '7d'), ...filterArgs(c.params) };
    const tool = c.params.get('tool');
    const user = c.params.get('user');
    const [usage, rows] = await Promise.all([
      callTool('usage_summary', args),
      tool && user ? callTool('list_executions', { ...args, limit: 50, ...(c.params.get('cursor') ? { cursor: c.params.get('cursor') } : {}) }) : callTool('tool_usage', { ...args, by: tool ? 'user' : 'tool', limit: 50 }),
    ]);
    return { usage, rows };
  },
  view({ usage, rows }, c) {
    const tool = c.params.get('tool');
    const user = c.params.get('user');
    const u = usage.structured;
    const crumbs = h(
      'nav',
      { class: 'crumbs', 'data-testid': 'crumbs' },
      h('a', { href: '#', onclick: (e: Event) => (e.preventDefault(), c.go('/drill', withParams(c.params, { tool: undefined, user: undefined, cursor: undefined }))) }, `All tools, ${when(u.window.from)} → ${when(u.window.to)}`),
      tool ? h('span', {}, ' › ', h('a', { href: '#', onclick: (e: Event) => (e.preventDefault(), c.go('/drill', withParams(c.params, { user: undefined, cursor: undefined }))) }, tool)) : null,
      user ? h('span', {}, ' › ', user) : null,
    );
    const chart = stackedBars(u.series, {
      width: c.width,
      height: 180,
      onBucket: (i) => c.go('/drill', withParams(c.params, { window: undefined, cursor: undefined, ...bucketRange(u.series, i, u.window.to) })),
      onSeries: (status) => c.go('/drill', withParams(c.params, { status, cursor: undefined })),
    });
    let body: HTMLElement;
    if (tool && user) {
      const s = rows.structured;
      body = section(
        `Executions of ${tool} by ${user} (${num(s.total_matching)})`,
        table(
          [
            { label: 'Started', value: (r: any) => when(r.started_at) },
            { label: 'Execution', value: (r: any) => traceLink(c, r.execution_id) },
            { label: 'Status', value: (r: any) => h('span', { class: `status ${r.status}` }, r.status) },
            { label: 'Duration', value: (r: any) => ms(r.duration_ms), numeric: true },
            { label: 'Error', value: (r: any) => r.error_type ?? '' },
            { label: 'Steps', value: (r: any) => num(r.step_count), numeric: true },
          ],
          s.executions,
          { onRow: (r: any) => c.go(`/trace/${encodeURIComponent(r.execution_id)}`), testid: 'executions' },
        ),
        s.next_cursor ? h('button', { onclick: () => c.go('/drill', withParams(c.params, { cursor: s.next_cursor })) }, 'Next page') : null,
      );
    } else {
      const s = rows.structured;
      body = section(
        tool ? `Users of ${tool}` : 'Tools in this window',
        table(
          [
            { label: tool ? 'User' : 'Tool', value: (r: any) => r.key ?? '(none)' },
            { label: 'Runs', value: (r: any) => num(r.runs), numeric: true },
            { label: 'Failures', value: (r: any) => num(r.failures), numeric: true },
            { label: 'Success', value: (r: any) => pct(r.success_rate), numeric: true },
            { label: 'Users', value: (r: any) => num(r.distinct_users), numeric: true },
            { label: 'p95', value: (r: any) => ms(r.p95_duration_ms), numeric: true },
            { label: 'Last used', value: (r: any) => when(r.last_used) },
          ],
          s.rows,
          { onRow: (r: any) => c.go('/drill', withParams(c.params, tool ? { user: r.key } : { tool: r.key })), testid: tool ? 'users' : 'tools' },
        ),
      );
    }
    return h('div', {}, crumbs, summary(usage.summary), section('Executions by status', chart), body);
  },
};

export const spike: Page = {
  title: 'Spike',
  windowed: true,
  defaultWindow: '7d',
  async load(c) {
    const args = { ...windowArgs(c.params, '7d'), ...filterArgs(c.params) };
    const at = c.params.get('at');
    const result = await callTool('who_drove_spike', { ...args, ...(at ? { at } : {}), limit: 10 });
    const usage = await callTool('usage_summary', { ...args, bucket: result.structured.bucket });
    return { result, usage };
  },
  view({ result, usage }, c) {
    const s = result.structured;
    const contributors = (title: string, rows: any[], filter?: string) =>
      section(
        title,
        table(
          [
            { label: 'Who', value: (r: any) => r.key ?? '(none)' },
            { label: 'In the spike', value: (r: any) => num(r.executions), numeric: true },
            { label: 'Baseline', value: (r: any) => num(r.baseline), numeric: true },
            { label: 'Excess', value: (r: any) => signed(r.excess), numeric: true },
            { label: 'Share of excess', value: (r: any) => pct(r.share_of_excess), numeric: true },
            { label: 'Success', value: (r: any) => pct(r.success_rate), numeric: true },
          ],
          rows,
          { onRow: filter && s.spike ? (r: any) => c.go('/drill', { ...withParams(c.params, { window: undefined, at: undefined }), from: s.spike.start, to: s.spike.end, [filter]: r.key }) : undefined, testid: `contributors-${filter ?? title}` },
        ),
      );
    return h(
      'div',
      {},
      summary(result.summary),
      s.spike ? h('div', { class: 'kpis' }, kpi('Spike', `${when(s.spike.start)}`, `${num(s.spike.executions)} vs baseline ${num(s.spike.baseline)}`), kpi('Excess', signed(s.spike.excess), s.baseline_explained)) : null,
      section(`Executions per ${s.bucket} (the spike marked; click a bar to see who drove that one)`, stackedBars(usage.structured.series, { width: c.width, highlight: s.spike ?? undefined, onBucket: (i) => c.go('/spike', withParams(c.params, { at: usage.structured.series[i].start })) })),
      h('div', { class: 'columns' }, contributors('Users', s.contributors.users, 'user'), contributors('Tools', s.contributors.tools, 'tool')),
      h('div', { class: 'columns' }, contributors('User × tool', s.contributors.user_tool_pairs), contributors('Teams', s.contributors.teams, 'team'), contributors('Clients', s.contributors.clients, 'client')),
    );
  },
};

export const cost: Page = {
  title: 'Cost',
  windowed: true,
  defaultWindow: '30d',
  async load(c) {
    const groupBy = c.params.get('group_by') ?? 'user';
    const args = { ...windowArgs(c.params, '30d'), ...filterArgs(c.params) };
    return groupBy === 'tool' ? callTool('cost_by_tool', { ...args, limit: 100 }) : callTool('cost_by_user', { ...args, group_by: groupBy, limit: 100 });
  },
  view(answer: ToolAnswer<any>, c) {
    const s = answer.structured;
    const groupBy = s.group_by as string;
    const csv = new URLSearchParams({ ...windowArgs(c.params, '30d'), ...filterArgs(c.params), group_by: groupBy });
    const tabs = h('div', { class: 'tabs' }, ...['user', 'team', 'tool'].map((g) => h('button', { class: g === groupBy ? 'active' : undefined, onclick: () => c.go('/cost', withParams(c.params, { group_by: g })) }, `By ${g}`)));
    return h(
      'div',
      {},
      tabs,
      summary(answer.summary),
      h(
        'div',
        { class: 'kpis' },
        kpi('Tasks', num(s.total_tasks), s.previous_window_caveat ? h('span', { class: 'flag', title: s.previous_window_caveat }, 'no comparison: the previous window is not comparable') : `${signed(s.total_tasks - s.previous_total_tasks)} vs previous`, 'kpi-tasks'),
        kpi('Cost', usd(s.total_cost_usd), s.share_with_cost_usd !== null ? `${pct(s.share_with_cost_usd)} of executions priced` : undefined),
        kpi('Executions', num(s.executions)),
      ),
      h('p', {}, h('a', { href: `/api/cost.csv?${csv}`, download: '', 'data-testid': 'csv' }, `Download CSV (every ${groupBy}, for chargeback)`)),
      section(
        `Tasks by ${groupBy} (click one to see what it ran)`,
        rankBars(s.rows.slice(0, 15).map((r: any) => ({ label: r.key ?? '(none)', value: r.tasks, detail: `${num(r.tasks)} · ${usd(r.cost_usd)}` })), {
          onRow: (i) => s.rows[i].key !== null && c.go('/drill', { ...withParams(c.params, { group_by: undefined }), [groupBy]: s.rows[i].key }),
        }),
      ),
      section(
        'Rows',
        table(
          [
            { label: groupBy, value: (r: any) => r.key ?? '(none)' },
            { label: 'Tasks', value: (r: any) => num(r.tasks), numeric: true },
            { label: 'Cost', value: (r: any) => usd(r.cost_usd), numeric: true },
            { label: 'Share', value: (r: any) => pct(r.share_of_tasks), numeric: true },
            { label: 'Change', value: (r: any) => (s.previous_window_caveat ? '—' : signed(r.change_tasks)), numeric: true },
            { label: groupBy === 'tool' ? 'Top users' : 'Top tools', value: (r: any) => r.top.map((t: any) => t.key).join(', ') },
          ],
          s.rows,
          { testid: 'cost-rows' },
        ),
      ),
    );
  },
};

export const failures: Page = {
  title: 'Failures',
  windowed: true,
  defaultWindow: '7d',
  async load(c) {
    const args = { ...windowArgs(c.params, '7d'), ...filterArgs(c.params, ['tool', 'user', 'team', 'server', 'client', 'environment']) };
    const [report, usage] = await Promise.all([callTool('failure_report', { ...args, limit: 50 }), callTool('usage_summary', args)]);
    return { report, usage };
  },
  view({ report, usage }: { report: ToolAnswer<any>; usage: ToolAnswer<any> }, c) {
    const s = report.structured;
    const u = usage.structured;
    // Only the failing statuses, over time: when the failures came.
    const failing = u.series.map((p: any) => ({ start: p.start, failed: p.failed, terminated: p.terminated }));
    return h(
      'div',
      {},
      summary(report.summary),
      h('div', { class: 'kpis' }, kpi('Failures', num(s.total_failures)), kpi('Failure rate', pct(s.failure_rate))),
      section(
        `Failed and terminated, per ${u.bucket} (click a bar to narrow to it)`,
        stackedBars(failing, { width: c.width, height: 180, onBucket: (i) => c.go('/failures', withParams(c.params, { window: undefined, ...bucketRange(u.series, i, u.window.to) })) }),
      ),
      section('By layer', rankBars(s.by_layer.map((l: any) => ({ label: l.layer ?? '(unknown)', value: l.count })), { color: STATUS_COLORS.failed })),
      section(
        'By error type, layer, tool and connector',
        table(
          [
            { label: 'Error type', value: (r: any) => r.error_type ?? '(none)' },
            { label: 'Layer', value: (r: any) => r.error_layer ?? '—' },
            { label: 'Tool', value: (r: any) => r.tool },
            { label: 'Connector', value: (r: any) => r.connector ?? '—' },
            { label: 'Count', value: (r: any) => num(r.count), numeric: true },
            { label: 'Users', value: (r: any) => num(r.affected_users), numeric: true },
            { label: 'Last seen', value: (r: any) => when(r.last_seen) },
            { label: 'Sample', value: (r: any) => traceLink(c, r.sample_execution_id) },
          ],
          s.groups,
          { testid: 'failure-groups' },
        ),
      ),
    );
  },
};

export const unused: Page = {
  title: 'Unused tools',
  windowed: true,
  defaultWindow: '30d',
  load: (c) => callTool('unused_tools', { ...windowArgs(c.params, '30d'), ...filterArgs(c.params, ['server']), limit: 200 }),
  view(answer: ToolAnswer<any>) {
    const s = answer.structured;
    return h(
      'div',
      {},
      summary(answer.summary),
      table(
        [
          { label: 'Tool', value: (r: any) => r.name },
          { label: 'Server', value: (r: any) => r.server ?? '—' },
          { label: 'Kind', value: (r: any) => r.kind },
          { label: 'Last used', value: (r: any) => when(r.last_used) },
          { label: 'Days since', value: (r: any) => num(r.days_since_last_use), numeric: true },
          { label: 'Runs before', value: (r: any) => num(r.runs_in_previous_window), numeric: true },
          { label: 'In catalog', value: (r: any) => (r.listed_in_catalog ? 'yes' : 'no') },
        ],
        s.tools,
        { testid: 'unused', empty: 'Every known tool ran in this window.' },
      ),
    );
  },
};

export const alerts: Page = {
  title: 'Alerts',
  windowed: true,
  defaultWindow: '24h',
  async load(c) {
    const [list, rules] = await Promise.all([
      callTool('list_alerts', { ...windowArgs(c.params, '24h'), status: c.params.get('status') ?? 'all', limit: 200 }),
      callTool('alert_rules', {}),
    ]);
    return { list, rules };
  },
  view({ list, rules }: { list: ToolAnswer<any>; rules: ToolAnswer<any> }, c) {
    const s = list.structured;
    const admin = currentSession()?.role === 'admin';
    const outcome = h('p', { 'data-testid': 'silence-outcome' });
    // An admin silences a firing alert's notifications from here, with a reason (silence_alert, audited).
    const silenceForm = (r: any) => {
      const reason = h('input', { type: 'text', placeholder: 'Reason (ticket, change), 10+ characters', minlength: 10, required: true, 'data-testid': 'silence-reason' });
      const duration = h('select', { 'aria-label': 'for' }, ...['1h', '2h', '8h', '24h'].map((d) => h('option', { value: d }, d)));
      return h(
        'form',
        {
          class: 'unmask',
          onsubmit: async (event: Event) => {
            event.preventDefault();
            try {
              const answer = await callTool('silence_alert', { rule: r.rule, ...(r.group ? { group: r.group } : {}), reason: reason.value, duration: duration.value });
              outcome.textContent = answer.summary;
            } catch (error) {
              outcome.textContent = (error as Error).message;
            }
          },
        },
        reason,
        duration,
        h('button', { type: 'submit', 'data-testid': 'silence' }, 'Silence'),
      );
    };
    return h(
      'div',
      {},
      h('pre', { class: 'summary' }, list.summary),
      section(
        'Alerts',
        table(
          [
            { label: 'Status', value: (r: any) => h('span', { class: `status ${r.status}` }, r.status) },
            { label: 'Rule', value: (r: any) => r.rule },
            { label: 'Group', value: (r: any) => r.group ?? '' },
            { label: 'Severity', value: (r: any) => r.severity },
            { label: 'Value', value: (r: any) => `${num(r.value)} vs ${num(r.threshold)}` },
            { label: 'Fired', value: (r: any) => when(r.fired_at) },
            { label: 'Resolved', value: (r: any) => when(r.resolved_at) },
            { label: 'Samples', value: (r: any) => h('span', {}, ...(r.explanation?.sample_execution_ids ?? []).slice(0, 3).flatMap((id: string) => [traceLink(c, id), ' '])) },
            ...(admin ? [{ label: 'Silence', value: (r: any) => (r.status === 'firing' && !r.silenced_until ? silenceForm(r) : r.silenced_until ? `until ${when(r.silenced_until)}` : '') }] : []),
          ],
          s.alerts,
          { testid: 'alerts', empty: 'No alerts.' },
        ),
        outcome,
      ),
      section(
        'Rules',
        table(
          [
            { label: 'Rule', value: (r: any) => r.name },
            { label: 'Condition', value: (r: any) => r.condition ?? `unreadable: ${r.error}` },
            { label: 'Severity', value: (r: any) => r.severity ?? '' },
            { label: 'Channels', value: (r: any) => (r.channels ?? []).join(', ') || 'none' },
            { label: 'Firing', value: (r: any) => r.firing.join(', ') || '—' },
            { label: 'Enabled', value: (r: any) => (r.enabled === false ? 'no' : 'yes') },
            { label: 'Last evaluated', value: (r: any) => when(r.last_evaluated) },
          ],
          rules.structured.rules,
          { testid: 'rules', empty: 'No alert rules yet (serve --alerts FILE, or create_alert_rule).' },
        ),
      ),
      section('Events', table([{ label: 'At', value: (r: any) => when(r.at) }, { label: 'Event', value: (r: any) => r.event }, { label: 'Rule', value: (r: any) => r.rule }, { label: 'Group', value: (r: any) => r.group ?? '' }], s.recent_events, { empty: 'No events in this window.' })),
    );
  },
};

export const audit: Page = {
  title: 'Audit',
  windowed: true,
  defaultWindow: '30d',
  adminOnly: true,
  load: (c) => callTool('audit_log', { ...windowArgs(c.params, '30d'), limit: 200 }),
  view(answer: ToolAnswer<any>) {
    const s = answer.structured;
    return h(
      'div',
      {},
      h('div', { class: 'kpis' }, kpi('Chain', s.chain.ok ? 'intact' : 'BROKEN', s.chain.problem ?? `${num(s.chain.events)} events${s.chain.keyed ? ', keyed' : ''}`, 'chain')),
      table(
        [
          { label: '#', value: (r: any) => r.seq, numeric: true },
          { label: 'At', value: (r: any) => when(r.at) },
          { label: 'Actor', value: (r: any) => `${r.actor} (${r.role})` },
          { label: 'Action', value: (r: any) => r.action },
          { label: 'Target', value: (r: any) => r.target ?? '' },
          { label: 'Reason', value: (r: any) => r.reason ?? '' },
        ],
        s.events,
        { testid: 'audit-events' },
      ),
    );
  },
};

/** One execution: steps, auth context per step, the failing step; an admin may unmask it (audited first). */
export const trace: Page = {
  title: 'Trace',
  load: (c) => callTool('trace_execution', { execution_id: c.arg }),
  view(answer: ToolAnswer<any>, c) {
    const s = answer.structured;
    const e = s.execution;
    const raw = h('div', { 'data-testid': 'unmasked' });
    // An execution in the same agent run is often in the same session too: listed once, saying both.
    const relatedById = new Map<string, any>();
    for (const [relation, rows] of [['agent run', s.related.same_workflow_run], ['session', s.related.same_session]] as const) {
      for (const r of rows) {
        const seen = relatedById.get(r.execution_id);
        relatedById.set(r.execution_id, seen ? { ...seen, relation: `${seen.relation}, ${relation}` } : { ...r, relation });
      }
    }
    const related = [...relatedById.values()];
    const admin = currentSession()?.role === 'admin';
    const reason = h('input', { type: 'text', name: 'reason', placeholder: 'Why you need the raw data (ticket, incident), at least 10 characters', minlength: 10, required: true, 'data-testid': 'unmask-reason' });
    const unmaskForm = admin && s.payloads === 'masked'
      ? h(
          'form',
          {
            class: 'unmask',
            onsubmit: async (event: Event) => {
              event.preventDefault();
              raw.replaceChildren(h('p', {}, 'Recording the audit event…'));
              try {
                const answer = await callTool('unmask_execution', { execution_id: e.execution_id, reason: reason.value });
                const u = answer.structured;
                raw.replaceChildren(h('p', { class: 'flag' }, `Unmasked; audit event #${u.audit_seq} recorded before the data was read.`), h('h3', {}, 'Input'), json(u.input), h('h3', {}, 'Output'), json(u.output), ...(u.steps ?? []).flatMap((st: any) => [h('h3', {}, `Step ${st.index} ${st.name}`), json({ input: st.input, output: st.output })]));
              } catch (error) {
                raw.replaceChildren(h('p', { class: 'error' }, (error as Error).message));
              }
            },
          },
          h('label', {}, 'Unmask payloads (audited): ', reason),
          h('button', { type: 'submit', 'data-testid': 'unmask' }, 'Unmask'),
        )
      : null;
    return h(
      'div',
      {},
      summary(answer.summary),
      h(
        'div',
        { class: 'kpis' },
        kpi('Status', e.status, e.error ? `${e.error.type ?? ''} ${e.error.layer ? `(${e.error.layer})` : ''}` : undefined, 'trace-status'),
        kpi('Tool', e.tool, e.server ?? undefined),
        kpi('User', e.user_id, e.team ?? undefined),
        kpi('Duration', ms(e.duration_ms), when(e.started_at)),
        kpi('Client', e.client ?? '—', e.via_mcp ? 'via MCP' : 'not via MCP'),
      ),
      e.error?.message ? h('p', { class: 'error' }, e.error.message) : null,
      section(
        `Steps (${s.step_total}${s.steps_omitted ? `, ${s.steps_omitted} omitted` : ''})`,
        table(
          [
            { label: '#', value: (r: any) => r.index, numeric: true },
            { label: 'Step', value: (r: any) => r.name },
            { label: 'Connector', value: (r: any) => [r.connector, r.operation].filter(Boolean).join(' · ') || '—' },
            { label: 'Status', value: (r: any) => h('span', { class: `status ${r.status}` }, r.status) },
            { label: 'Duration', value: (r: any) => ms(r.duration_ms), numeric: true },
            { label: 'Auth', value: (r: any) => [r.auth.mode, r.auth.identity].filter(Boolean).join(': ') || '—' },
            { label: 'Error', value: (r: any) => (r.error ? `${r.error.type ?? ''} ${r.error.message ?? ''}` : '') },
          ],
          s.steps,
          { rowClass: (r: any) => (r.index === s.failing_step ? 'failing' : undefined), testid: 'steps', empty: 'No steps recorded.' },
        ),
      ),
      section(`Payloads (${s.payloads})`, h('div', { class: 'columns' }, h('div', {}, h('h3', {}, 'Input'), json(e.input)), h('div', {}, h('h3', {}, 'Output'), json(e.output)))),
      unmaskForm,
      raw,
      related.length
        ? section('Related', table([{ label: 'Execution', value: (r: any) => traceLink(c, r.execution_id) }, { label: 'Same', value: (r: any) => r.relation }, { label: 'Tool', value: (r: any) => r.tool }, { label: 'Status', value: (r: any) => r.status }, { label: 'Started', value: (r: any) => when(r.started_at) }], related))
        : null,
    );
  },
};

export const PAGES: Record<string, Page> = { overview, drill, spike, cost, failures, unused, alerts, audit, trace };
