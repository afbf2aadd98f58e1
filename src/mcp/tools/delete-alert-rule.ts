import { z } from 'zod';
import { deleteRule } from '../../alerts/manage.js';
import { defineTool } from '../tool.js';
import { ruleChanges } from './alerts-common.js';
import { WRITES } from './create-alert-rule.js';

export const delete_alert_rule = defineTool({
  name: 'delete_alert_rule',
  title: 'Delete an alert rule (admins, audited)',
  description: `Deletes a rule and its open alerts; history stays. Admins; audited.

Example: "Delete the old-latency rule; the tool was retired."`,
  inputSchema: { name: z.string(), reason: z.string().max(1000).optional() },
  outputSchema: { deleted: z.string() },
  adminOnly: true,
  annotations: { ...WRITES, destructiveHint: true, idempotentHint: true },
  async handler(args, ctx) {
    await deleteRule(ruleChanges(ctx, 'delete alert rules'), args.name, args.reason);
    return { structured: { deleted: args.name }, summary: `Deleted rule ${args.name}; its history stays in list_alerts (status all) and the audit log.` };
  },
});
