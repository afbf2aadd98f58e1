import { App } from '@modelcontextprotocol/ext-apps';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { rankBars, stackedBars, STATUS_COLORS } from '../../../web/client/charts.js';
import { h, ms, num, pct, signed, table, usd, when } from '../../../web/client/dom.js';
import './view.css';

/**
 * The chart inside an answer: an MCP Apps view. The host renders it in a sandboxed iframe beside
 * the text answer and hands it the tool's structured result; a click drills down by calling our
 * tools through the host (tools/call, with the user's identity), never over the network.
 */
const root = document.getElementById('app')!;
const kind = document.querySelector<HTMLMetaElement>('meta[name="mcp-blackbox-view"]')?.content ?? '';
const app = new App({ name: 'mcp-blackbox', version: '1' }, {}, { autoResize: true });
const width = () => Math.max(300, Math.min(900, document.documentElement.clientWidth - 24));

type Data = Record<string, any>;
const drillPanel = h('div', { class: 'drill', 'data-testid': 'drill' });

/** The drill steps shown so far, so that Back returns to the one before. */
const steps: Array<{ nodes: Node[]; tool: string | undefined }> = [];

function back(): void {
  const previous = steps.pop();
  if (!previous) return;
  drillPanel.replaceChildren(...previous.nodes);
  if (previous.tool) drillPanel.dataset.tool = previous.tool;
  else delete drillPanel.dataset.tool;
}

/** Calls one of our tools through the host and shows its answer below the chart. */
async function drill(title: string, name: string, args: Record<string, unknown>, show: (data: Data) => HTMLElement): Promise<void> {
  steps.push({ nodes: [...drillPanel.childNodes], tool: drillPanel.dataset.tool });
  drillPanel.replaceChildren(h('p', { class: 'muted' }, `Calling ${name}…`));
  let result: CallToolResult;
  try {
    result = await app.callServerTool({ name, arguments: args });
  } catch (error) {
    drillPanel.replaceChildren(h('p', { class: 'error' }, (error as Error).message));
    return;
  }
  const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
  if (result.isError || !result.structuredContent) {
    drillPanel.replaceChildren(h('p', { class: 'error' }, text || `${name} failed.`));
    return;
  }
  drillPanel.replaceChildren(h('button', { class: 'back', onclick: back, 'data-testid': 'back' }, '← Back'), h('h3', {}, title), h('p', { class: 'muted' }, text), show(result.structuredContent as Data));
  drillPanel.dataset.tool = name;
}

const windowOf = (data: Data) => ({ from: data.window?.from, to: data.window?.to });
const filtersOf = (data: Data) => Object.fromEntries(Object.entries(data.filters ?? {}).filter(([, v]) => v !== undefined && v !== null));

function executions(data: Data): HTMLElement {
  return table(
    [
      { label: 'Started', value: (r: any) => when(r.started_at) },
      { label: 'Execution', value: (r: any) => r.execution_id },
      { label: 'Tool', value: (r: any) => r.tool },
      { label: 'User', value: (r: any) => r.user_id },
      { label: 'Status', value: (r: any) => r.status },
      { label: 'Duration', value: (r: any) => ms(r.duration_ms), numeric: true },
    ],
    data.executions,
    { onRow: (r: any) => void drill(`Execution ${r.execution_id}`, 'trace_execution', { execution_id: r.execution_id }, traceView), testid: 'executions' },
  );
}

function traceView(data: Data): HTMLElement {
  const e = data.execution;
  return h(
    'div',
    {},
    h('p', {}, `${e.tool} by ${e.user_id}: ${e.status}${e.error ? ` (${e.error.type ?? ''} ${e.error.layer ?? ''})` : ''}, ${ms(e.duration_ms)}, ${when(e.started_at)}`),
    table(
      [
        { label: '#', value: (r: any) => r.index, numeric: true },
        { label: 'Step', value: (r: any) => r.name },
        { label: 'Status', value: (r: any) => r.status },
        { label: 'Duration', value: (r: any) => ms(r.duration_ms), numeric: true },
        { label: 'Auth', value: (r: any) => [r.auth?.mode, r.auth?.identity].filter(Boolean).join(': ') || '—' },
        { label: 'Error', value: (r: any) => (r.error ? `${r.error.type ?? ''} ${r.error.message ?? ''}` : '') },
      ],
      data.steps,
      { rowClass: (r: any) => (r.index === data.failing_step ? 'failing' : undefined), testid: 'steps', empty: 'No steps recorded.' },
    ),
  );
}

const usageRows = (data: Data, onRow?: (r: any) => void) =>
  table(
    [
      { label: data.by, value: (r: any) => r.key ?? '(none)' },
      { label: 'Runs', value: (r: any) => num(r.runs), numeric: true },
      { label: 'Failures', value: (r: any) => num(r.failures), numeric: true },
      { label: 'p95', value: (r: any) => ms(r.p95_duration_ms), numeric: true },
    ],
    data.rows,
    { onRow, testid: 'tool-rows' },
  );

const VIEWS: Record<string, (data: Data) => HTMLElement> = {
  usage_summary(data) {
    const filters = filtersOf(data);
    return h(
      'div',
      {},
      h('p', { class: 'headline' }, `${num(data.total_executions)} executions · success ${pct(data.success_rate)} · ${num(data.active_users.total)} users · ${num(data.tasks)} tasks`, data.change.percent !== null ? ` · ${data.change.percent > 0 ? '+' : ''}${data.change.percent}% vs previous` : ''),
      stackedBars(data.series, {
        width: width(),
        height: 220,
        onBucket: (i) => {
          const from = data.series[i].start;
          const to = data.series[i + 1]?.start ?? data.window.to;
          void drill(`Tools ${when(from)} → ${when(to)}`, 'tool_usage', { from, to, by: 'tool', limit: 10, ...filters }, (rows) =>
            usageRows(rows, (r) => void drill(`${r.key}, ${when(from)} → ${when(to)}`, 'list_executions', { from, to, ...filters, tool: r.key, limit: 20 }, executions)),
          );
        },
      }),
    );
  },
  who_drove_spike(data) {
    const spike = data.spike;
    const users = data.contributors.users as any[];
    return h(
      'div',
      {},
      h('p', { class: 'headline' }, spike ? `Spike ${when(spike.start)}: ${num(spike.executions)} vs baseline ${num(spike.baseline)} (${signed(spike.excess)})` : 'No spike in this window.'),
      rankBars(users.map((u) => ({ label: u.key ?? '(none)', value: Math.max(0, u.excess), detail: `${signed(u.excess)} · ${pct(u.share_of_excess)}` })), {
        onRow: spike ? (i) => void drill(`${users[i].key} in the spike`, 'list_executions', { from: spike.start, to: spike.end, ...filtersOf(data), user: users[i].key, limit: 20 }, executions) : undefined,
      }),
      h('p', { class: 'muted' }, `Tools: ${(data.contributors.tools as any[]).map((t) => `${t.key} ${signed(t.excess)}`).join(', ') || '—'}`),
    );
  },
  cost_by_user(data) {
    return costView(data);
  },
  cost_by_tool(data) {
    return costView(data);
  },
  failure_report(data) {
    return h(
      'div',
      {},
      h('p', { class: 'headline' }, `${num(data.total_failures)} failures · rate ${pct(data.failure_rate)}`),
      rankBars((data.by_layer as any[]).map((l) => ({ label: l.layer ?? '(unknown)', value: l.count })), { color: STATUS_COLORS.failed }),
      table(
        [
          { label: 'Error', value: (r: any) => r.error_type ?? '(none)' },
          { label: 'Layer', value: (r: any) => r.error_layer ?? '—' },
          { label: 'Tool', value: (r: any) => r.tool },
          { label: 'Count', value: (r: any) => num(r.count), numeric: true },
        ],
        (data.groups as any[]).slice(0, 10),
        { onRow: (r: any) => void drill(`Sample ${r.sample_execution_id}`, 'trace_execution', { execution_id: r.sample_execution_id }, traceView), testid: 'failure-groups' },
      ),
    );
  },
  trace_execution(data) {
    return traceView(data);
  },
};

function costView(data: Data): HTMLElement {
  const rows = data.rows as any[];
  const by = data.group_by as string;
  return h(
    'div',
    {},
    h('p', { class: 'headline' }, `${num(data.total_tasks)} tasks${data.total_cost_usd !== null ? ` · ${usd(data.total_cost_usd)}` : ''} by ${by}`),
    rankBars(rows.slice(0, 12).map((r) => ({ label: r.key ?? '(none)', value: r.tasks, detail: `${num(r.tasks)} · ${pct(r.share_of_tasks)}` })), {
      onRow: (i) => {
        const key = rows[i].key;
        if (key === null) return;
        const next = by === 'tool' ? { tool: key, by: 'user' } : { [by]: key, by: 'tool' };
        void drill(`${key}: by ${next.by}`, 'tool_usage', { ...windowOf(data), ...filtersOf(data), ...next, limit: 10 }, (d) => usageRows(d));
      },
    }),
  );
}

function render(data: Data | undefined): void {
  applyTheme(app.getHostContext()?.theme);
  const view = VIEWS[kind];
  if (!view || !data) {
    root.replaceChildren(h('p', { class: 'muted' }, 'No chart for this answer.'));
    return;
  }
  root.replaceChildren(view(data), drillPanel);
  document.body.dataset.rendered = kind;
}

/** The host's light or dark theme, as it says in its context (and again when it changes). */
function applyTheme(theme: string | undefined): void {
  document.documentElement.dataset.theme = theme === 'dark' ? 'dark' : 'light';
}

app.ontoolresult = (result) => render(result.structuredContent as Data | undefined);
app.onhostcontextchanged = (context) => applyTheme(context.theme);
void app.connect().then(() => applyTheme(app.getHostContext()?.theme));
