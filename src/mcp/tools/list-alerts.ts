import { z } from 'zod';
import { parseState, storedRules } from '../../alerts/engine.js';
import type { Explanation } from '../../alerts/explain.js';
import { limitArg, rangeOf, timeArgs, windowShape } from '../common.js';
import { alertStore, defineTool, READ_ONLY } from '../tool.js';

const STATUS = ['open', 'firing', 'pending', 'resolved', 'all'] as const;

/** Security alerts (who unmasked what) are for admins, as the audit log is. */
const ADMIN_KINDS = new Set(['unmask_activity']);

export const list_alerts = defineTool({
  name: 'list_alerts',
  title: 'Alerts: firing, pending and recent',
  description: `Alerts firing and pending now, and the window's events (fired, reminded, resolved). Each says why: value vs threshold, the series before, top users, tools and clients vs baseline, sample execution ids, the next call.

Example: "Is anything firing, and why?"`,
  inputSchema: {
    status: z.enum(STATUS).default('open').describe('open = firing or pending.'),
    rule: z.string().optional(),
    ...timeArgs('24h'),
    limit: limitArg(20, 200),
  },
  outputSchema: {
    window: windowShape,
    alerts: z.array(z.object({}).passthrough()),
    recent_events: z.array(z.object({}).passthrough()),
    silences: z.array(z.object({}).passthrough()),
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '24h');
    const admin = ctx.access.isAdmin();
    const store = alertStore(ctx);
    const [rules, states, history, silences] = await Promise.all([
      storedRules(store),
      store.states(args.rule),
      store.history({ from: range.from, to: range.to, rule: args.rule, limit: args.limit }),
      store.silences(ctx.clock.now()),
    ]);
    const kindOf = new Map(rules.map((r) => [r.name, r.rule?.kind]));
    const severityOf = new Map(rules.map((r) => [r.name, r.rule?.severity ?? 'error']));
    const visible = (rule: string) => admin || !ADMIN_KINDS.has(kindOf.get(rule) ?? '');
    const wanted = (status: string) => args.status === 'all' || status === args.status || (args.status === 'open' && status !== 'resolved');
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const alerts = states
      .filter((row) => visible(row.rule))
      .map((row) => ({ row, state: parseState(row.state) }))
      .filter(({ state }) => wanted(state.status))
      .sort((a, b) => order(a.state.status) - order(b.state.status) || (b.state.fired_at ?? 0) - (a.state.fired_at ?? 0))
      .slice(0, args.limit)
      .map(({ row, state }) => {
        const silence = silences.find((s) => s.rule === row.rule && (s.group_key === null || s.group_key === state.group));
        return {
          rule: row.rule,
          group: state.group,
          status: state.status,
          severity: severityOf.get(row.rule),
          since: iso(state.active_since),
          fired_at: iso(state.fired_at),
          resolved_at: iso(state.resolved_at),
          value: state.value,
          threshold: state.threshold,
          fingerprint: state.fingerprint,
          silenced_until: silence?.ends_at ?? null,
          explanation: row.explanation ? (JSON.parse(row.explanation) as Explanation) : null,
        };
      });
    const recent = history.filter((h) => visible(h.rule)).map((h) => ({ rule: h.rule, group: h.group_key, event: h.event, at: h.at, value: h.value, threshold: h.threshold, silenced: h.silenced }));
    const lines = alerts.map((a) => {
      const why = a.explanation;
      const top = why?.top_contributors;
      const who = [top?.users[0]?.key ? `top user ${top.users[0].key}` : '', top?.tools[0]?.key ? `top tool ${top.tools[0].key}` : '', top?.clients[0]?.key ? `top client ${top.clients[0].key}` : '']
        .filter(Boolean).join(', ');
      return (
        `${a.status.toUpperCase()} ${a.rule}${a.group ? ` (${a.group})` : ''} [${a.severity}] since ${a.since}${a.fired_at ? `, fired ${a.fired_at}` : ''}${a.resolved_at ? `, resolved ${a.resolved_at}` : ''}: ` +
        `${a.value} vs threshold ${a.threshold}${who ? `; ${who}` : ''}` +
        `${why?.sample_execution_ids?.length ? `; samples ${why.sample_execution_ids.join(', ')}` : ''}` +
        `${why?.detail ? `; ${JSON.stringify(why.detail)}` : ''}${a.silenced_until ? `; silenced until ${a.silenced_until}` : ''}${why?.next ? `. Next: ${why.next}` : ''}.`
      );
    });
    const counts = (status: string) => alerts.filter((a) => a.status === status).length;
    const head = alerts.length
      ? `${counts('firing')} firing, ${counts('pending')} pending${args.status === 'all' || args.status === 'resolved' ? `, ${counts('resolved')} resolved` : ''}:`
      : rules.length ? `No ${args.status === 'open' ? 'firing or pending' : args.status} alerts${args.rule ? ` for ${args.rule}` : ''}.` : 'No alert rules yet (alert_rules, create_alert_rule).';
    const tail = recent.length ? `Events ${range.from.toISOString()} .. ${range.to.toISOString()}: ${recent.map((e) => `${e.at} ${e.event} ${e.rule}${e.group ? ` (${e.group})` : ''}`).join('; ')}.` : '';
    return {
      structured: { window: { from: range.from.toISOString(), to: range.to.toISOString() }, alerts, recent_events: recent, silences: silences.filter((s) => visible(s.rule)).map((s) => ({ ...s })) },
      summary: [head, ...lines, tail].filter(Boolean).join('\n'),
    };
  },
});

const order = (status: string) => (status === 'firing' ? 0 : status === 'pending' ? 1 : 2);
