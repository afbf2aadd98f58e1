import { z } from 'zod';
import { storedRule } from '../../alerts/engine.js';
import { saveRule } from '../../alerts/manage.js';
import { describeRule } from '../../alerts/rules.js';
import { NotFoundError } from '../../errors.js';
import { defineTool } from '../tool.js';
import { ruleChanges } from './alerts-common.js';
import { WRITES } from './create-alert-rule.js';

export const update_alert_rule = defineTool({
  name: 'update_alert_rule',
  title: 'Change an alert rule (admins, audited)',
  description: `Sets fields of a saved rule (threshold, for, channels, enabled: false to pause...); the rest stay. Admins; audited.

Example: "Raise jira-errors' threshold to 30% and wait 10 minutes before paging."`,
  inputSchema: {
    name: z.string(),
    changes: z.object({}).passthrough().describe('Fields to set.'),
  },
  outputSchema: { rule: z.object({}).passthrough(), condition: z.string(), changed: z.array(z.string()) },
  adminOnly: true,
  annotations: { ...WRITES, idempotentHint: true },
  async handler(args, ctx) {
    const change = ruleChanges(ctx, 'change alert rules');
    const saved = await storedRule(change.alerts, args.name);
    if (!saved) throw new NotFoundError(`no rule is named ${args.name}; alert_rules lists them.`);
    const before = saved.rule ?? {};
    const rule = await saveRule(change, { ...before, ...args.changes, name: args.name }, 'update');
    const changed = Object.keys(args.changes).filter((k) => JSON.stringify((before as Record<string, unknown>)[k]) !== JSON.stringify((rule as Record<string, unknown>)[k]));
    return {
      structured: { rule, condition: describeRule(rule), changed },
      summary: `Updated ${rule.name} (${changed.length ? changed.join(', ') : 'nothing changed'}): ${describeRule(rule)}${rule.enabled ? '' : '; disabled'}.`,
    };
  },
});
