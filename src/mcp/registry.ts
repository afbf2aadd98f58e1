import type { ToolDefinition } from './tool.js';
import { cost_by_tool } from './tools/cost-by-tool.js';
import { cost_by_user } from './tools/cost-by-user.js';
import { failure_report } from './tools/failure-report.js';
import { fleet_catalog } from './tools/fleet-catalog.js';
import { list_executions } from './tools/list-executions.js';
import { tool_usage } from './tools/tool-usage.js';
import { trace_execution } from './tools/trace-execution.js';
import { unused_tools } from './tools/unused-tools.js';
import { usage_summary } from './tools/usage-summary.js';
import { who_drove_spike } from './tools/who-drove-spike.js';
import { unmask_execution } from './tools/unmask-execution.js';
import { audit_log } from './tools/audit-log.js';
import { my_failures } from './tools/my-failures.js';
import { list_alerts } from './tools/list-alerts.js';
import { alert_rules } from './tools/alert-rules.js';
import { backtest_alert_rule } from './tools/backtest-alert-rule.js';
import { create_alert_rule } from './tools/create-alert-rule.js';
import { update_alert_rule } from './tools/update-alert-rule.js';
import { delete_alert_rule } from './tools/delete-alert-rule.js';
import { silence_alert } from './tools/silence-alert.js';
import { export_status } from './tools/export-status.js';

/** Every tool the server exposes, in the order a client lists them: overview first, detail last. */
export const TOOLS: ReadonlyArray<ToolDefinition<any, any>> = [
  usage_summary,
  tool_usage,
  unused_tools,
  who_drove_spike,
  cost_by_user,
  cost_by_tool,
  failure_report,
  my_failures,
  list_executions,
  trace_execution,
  fleet_catalog,
  unmask_execution,
  audit_log,
  list_alerts,
  alert_rules,
  backtest_alert_rule,
  create_alert_rule,
  update_alert_rule,
  silence_alert,
  delete_alert_rule,
  export_status,
];
