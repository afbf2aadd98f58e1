import type { CostReport } from '../analytics/cost.js';

const COLUMNS = ['key', 'tasks', 'cost_usd', 'executions', 'share_of_tasks', 'previous_tasks', 'change_tasks', 'window_from', 'window_to'] as const;

/** A cost report as RFC 4180 CSV, one row per user, team or tool, for a chargeback spreadsheet. */
export function costCsv(report: CostReport): string {
  const header = [report.group_by, ...COLUMNS.slice(1)];
  const rows = report.rows.map((r) => [r.key ?? '', r.tasks, r.cost_usd ?? '', r.executions, r.share_of_tasks ?? '', r.previous_tasks, r.change_tasks, report.window.from, report.window.to]);
  return [header, ...rows].map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
}

function cell(value: string | number): string {
  let text = String(value);
  // A spreadsheet runs a cell that starts with = + - @ (or a tab or CR) as a formula; user and
  // tool names come from logs, so such a name is written as text.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
