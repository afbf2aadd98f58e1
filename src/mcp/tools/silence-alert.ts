import { z } from 'zod';
import { silence } from '../../alerts/manage.js';
import { defineTool } from '../tool.js';
import { ruleChanges } from './alerts-common.js';
import { WRITES } from './create-alert-rule.js';

export const silence_alert = defineTool({
  name: 'silence_alert',
  title: 'Silence an alert (admins, audited)',
  description: `Stops a rule's notifications (or one group's) until an end time; evaluation goes on. Admins, with a reason; audited.

Example: "Silence fleet-spike for 2 hours: planned load test, CHG-311."`,
  inputSchema: {
    rule: z.string(),
    group: z.string().optional().describe('One group; default all.'),
    reason: z.string().min(10).max(1000),
    duration: z.string().optional().describe('Like 2h; or until.'),
    until: z.string().optional().describe('RFC 3339.'),
  },
  outputSchema: { id: z.string(), ends_at: z.string() },
  adminOnly: true,
  annotations: WRITES,
  async handler(args, ctx) {
    const result = await silence(ruleChanges(ctx, 'silence alerts'), args);
    return { structured: result, summary: `Silenced ${args.rule}${args.group ? ` (${args.group})` : ''} until ${result.ends_at} (${result.id}); recorded in the audit log.` };
  },
});
