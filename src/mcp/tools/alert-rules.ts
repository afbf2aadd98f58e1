import { z } from 'zod';
import { storedRules } from '../../alerts/engine.js';
import { describeRule, kindReference, SEVERITIES } from '../../alerts/rules.js';
import { NotFoundError } from '../../errors.js';
import { parseState } from '../../alerts/engine.js';
import { alertStore, defineTool, READ_ONLY } from '../tool.js';

export const alert_rules = defineTool({
  name: 'alert_rules',
  title: 'Alert rules',
  description: `The alert rules (condition, channels, firing now, last evaluation, errors), the channels configured, and each rule kind's parameters with defaults, for writing a rule.

Example: "Which alert rules do we have, and which page someone?"`,
  inputSchema: { name: z.string().optional() },
  outputSchema: {
    rules: z.array(z.object({}).passthrough()),
    channels: z.array(z.object({ name: z.string(), type: z.string() })),
    kinds: z.record(z.unknown()).describe('Each kind\'s parameters and defaults.'),
    common_fields: z.record(z.unknown()),
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const alerts = alertStore(ctx);
    const [rules, ticks, states] = await Promise.all([storedRules(alerts), alerts.ticks(), alerts.states()]);
    const selected = args.name === undefined ? rules : rules.filter((r) => r.name === args.name);
    if (args.name !== undefined && selected.length === 0) {
      throw new NotFoundError(`no rule is named ${args.name}; ${rules.length ? `the rules are ${rules.map((r) => r.name).join(', ')}` : 'there are no rules yet (create_alert_rule)'}.`);
    }
    const tickOf = new Map(ticks.map((t) => [t.rule, t]));
    const rows = selected.map((entry) => {
      const open = states.filter((s) => s.rule === entry.name).map((s) => parseState(s.state));
      const tick = tickOf.get(entry.name);
      return {
        name: entry.name,
        ...(entry.rule
          ? { kind: entry.rule.kind, enabled: entry.rule.enabled, severity: entry.rule.severity, condition: describeRule(entry.rule), channels: entry.rule.channels, definition: entry.rule }
          : { error: entry.error }),
        firing: open.filter((s) => s.status === 'firing').map((s) => s.group || '(all)'),
        pending: open.filter((s) => s.status === 'pending').length,
        last_evaluated: tick?.last_tick ?? null,
        last_error: tick?.last_error ?? null,
        origin: entry.origin,
        updated_by: entry.updated_by,
        updated_at: entry.updated_at,
      };
    });
    const channels = [...ctx.alertChannels].map(([name, channel]) => ({ name, type: channel.type }));
    const lines = rows.map((r) =>
      `${r.name}: ${'condition' in r ? `${r.condition}; ${r.enabled ? '' : 'DISABLED; '}${r.severity}; channels ${r.channels?.length ? r.channels.join(', ') : 'none'}` : `unreadable (${r.error})`}` +
      `; ${r.firing.length ? `FIRING for ${r.firing.join(', ')}` : 'not firing'}${r.last_error ? `; last error: ${r.last_error}` : ''}.`,
    );
    const summary = [
      rows.length ? `${rows.length} rule(s):` : 'No alert rules yet: create_alert_rule adds one (backtest_alert_rule tries it on history first), or serve --alerts FILE loads them.',
      ...lines,
      `Channels: ${channels.length ? channels.map((c) => `${c.name} (${c.type})`).join(', ') : 'none configured (serve --alerts FILE)'}.`,
    ].join('\n');
    return {
      structured: {
        rules: rows,
        channels,
        kinds: kindReference(),
        common_fields: { name: 'required', filters: '{tool, user, team, server, client, environment, via_mcp}', for: '0m', repeat_interval: '4h', channels: [], enabled: true, severity: SEVERITIES.join('|'), description: 'optional' },
      },
      summary,
    };
  },
});
