import { z } from 'zod';
import { backtestRule, backtestText } from '../../alerts/backtest.js';
import { storedRule } from '../../alerts/engine.js';
import { parseRule } from '../../alerts/rules.js';
import { NotFoundError, UserInputError } from '../../errors.js';
import { rangeOf, timeArgs, windowShape } from '../common.js';
import { alertStore, defineTool, READ_ONLY } from '../tool.js';

export const backtest_alert_rule = defineTool({
  name: 'backtest_alert_rule',
  title: 'Backtest an alert rule on history',
  description: `Replays a rule (saved, by name; or a draft) over past data with the live evaluator: when it would have fired and resolved, per group, with values. Nothing is stored or sent.

Example: "Would an error-rate alert at 10% have paged us last month?"`,
  inputSchema: {
    name: z.string().optional(),
    rule: z.object({}).passthrough().optional().describe('A draft.'),
    ...timeArgs('30d'),
  },
  outputSchema: {
    rule: z.string(),
    condition: z.string(),
    window: windowShape,
    firings: z.number(),
    resolutions: z.number(),
    reminders: z.number(),
    notifications: z.number(),
    channels: z.array(z.string()),
    held_shorter_than_for: z.number(),
    by_group: z.array(z.object({ group: z.string(), firings: z.number() })),
    episodes: z.array(z.object({}).passthrough()),
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    if ((args.name === undefined) === (args.rule === undefined)) {
      throw new UserInputError('give either name (a saved rule; alert_rules lists them) or rule (a draft, like {"kind": "error_rate", "threshold": 0.1}), one of the two.');
    }
    let rule;
    if (args.rule) {
      rule = parseRule({ name: 'draft', ...args.rule });
    } else {
      // Exactly one of name and rule was given (checked above).
      const saved = await storedRule(alertStore(ctx), args.name!);
      if (!saved) throw new NotFoundError(`no rule is named ${args.name}; alert_rules lists them, or pass a draft as rule.`);
      if (!saved.rule) throw new UserInputError(`rule ${args.name} cannot be read: ${saved.error}`);
      rule = saved.rule;
    }
    const range = await rangeOf(args, ctx, '30d');
    const report = await backtestRule(ctx.analytics.alertSignals, rule, range, args.tz ?? ctx.tz);
    const summary = backtestText(report, rule);
    return { structured: { ...report, episodes: report.episodes.map((e) => ({ ...e })) }, summary };
  },
});
