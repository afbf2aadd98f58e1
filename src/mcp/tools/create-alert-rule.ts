import { z } from 'zod';
import { saveRule } from '../../alerts/manage.js';
import { describeRule } from '../../alerts/rules.js';
import { defineTool } from '../tool.js';
import { ruleChanges } from './alerts-common.js';

const WRITES = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;

export const create_alert_rule = defineTool({
  name: 'create_alert_rule',
  title: 'Create an alert rule (admins, audited)',
  description: `Adds an alert rule, evaluated every minute. rule = {name, kind, ...kind parameters (alert_rules lists them), filters, for, severity, channels, repeat_interval}. Admins; audited. Backtest it first.

Example: "Page on-call when jira_create_issue fails more than 20% over 15 minutes."`,
  inputSchema: { rule: z.object({}).passthrough() },
  outputSchema: { rule: z.object({}).passthrough(), condition: z.string() },
  adminOnly: true,
  annotations: WRITES,
  async handler(args, ctx) {
    const rule = await saveRule(ruleChanges(ctx, 'create alert rules'), args.rule, 'create');
    return {
      structured: { rule, condition: describeRule(rule) },
      summary: `Created rule ${rule.name}: ${describeRule(rule)}; ${rule.severity}, channels ${rule.channels.length ? rule.channels.join(', ') : 'none (it shows in list_alerts only)'}. It is evaluated from the next minute.`,
    };
  },
});

export { WRITES };
