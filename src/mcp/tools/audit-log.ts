import { z } from 'zod';
import { AUDIT_ACTIONS, type ChainVerification } from '../../access/audit.js';
import { describeRange, resolveRange, sqlTime } from '../../analytics/time-range.js';
import { systemClock } from '../../clock.js';
import { AccessDenied } from '../../errors.js';
import { limitArg, span, timeArgs, windowShape } from '../common.js';
import { defineTool, READ_ONLY } from '../tool.js';

export const audit_log = defineTool({
  name: 'audit_log',
  title: 'Audit log (admins)',
  description: `The audit trail: traces viewed, unmasks with their reason, denied unmasks, rule changes; newest first, and whether the hash chains verify.

Default all events; times are wall-clock.
Example: "Who unmasked executions this month, and why?"`,
  inputSchema: {
    ...timeArgs('all time'),
    actor: z.string().optional().describe('User id.'),
    action: z.enum(AUDIT_ACTIONS).optional(),
    target: z.string().optional().describe('Execution id.'),
    limit: limitArg(50, 500),
  },
  outputSchema: {
    window: windowShape,
    total_matching: z.number(),
    events: z.array(
      z.object({
        seq: z.number(),
        chain: z.string().optional(),
        at: z.string(),
        actor: z.string(),
        role: z.string(),
        action: z.string(),
        target: z.string().nullable(),
        reason: z.string().nullable(),
        details: z.unknown(),
      }),
    ),
    chain: z.object({
      ok: z.boolean(),
      events: z.number(),
      head_seq: z.number().nullable(),
      keyed: z.boolean(),
      first_broken_seq: z.number().nullable(),
      problem: z.string().nullable(),
      mirror: z.object({ path: z.string().nullable(), events: z.number().nullable(), matches: z.boolean().nullable() }),
    }),
  },
  adminOnly: true,
  annotations: READ_ONLY,
  async handler(args, ctx) {
    if (!ctx.access.isAdmin()) throw new AccessDenied('Only admins can read the audit log.');
    // An audit trail is read whole unless asked otherwise. Its events carry wall-clock times, so a
    // window is counted back from the wall clock, not from the pinned "now" of the data.
    // "all" is the default here: the whole log, whatever the oldest execution.
    const bounded = (args.window && args.window.trim() !== 'all') || args.from || args.to;
    const range = bounded ? resolveRange({ ...args, tz: args.tz ?? ctx.tz }, systemClock, '30d') : undefined;
    const { total, first, last, rows } = await ctx.auditLog.query({
      from: sqlTime(range?.from ?? new Date(0)),
      to: sqlTime(range?.to ?? new Date('9999-12-31T00:00:00Z')),
      actor: args.actor,
      action: args.action,
      target: args.target,
      limit: args.limit,
    });
    // A shared store keeps a chain per instance: each event names its own, and every chain is verified.
    const { chains, ...chain } = await ctx.auditLog.verifyAll();
    const events = rows.map(({ prev_hash: _p, hash: _h, chain_id, details, ...e }) => ({ ...e, ...(chain_id ? { chain: chain_id } : {}), details: details ? JSON.parse(details) : null }));
    // The range echoed is the one asked for, or, for the whole log, the span its events cover.
    const window = range ? describeRange(range) : { from: first ?? '', to: last ?? '' };
    const covered = range ? span(window) : total ? `from ${first} to ${last} (the whole log)` : 'in the whole log';
    const summary = [
      `${total} audit event${total === 1 ? '' : 's'} ${covered}; ${chainVerdict(chain, chains)}.`,
      ...events.slice(0, 5).map((e) => `#${e.seq}${e.chain ? ` of ${e.chain}` : ''} ${e.at} ${e.actor} (${e.role}) ${e.action}${e.target ? ` ${e.target}` : ''}${e.reason ? `: "${e.reason}"` : ''}`),
    ].join('\n');
    return { structured: { window, total_matching: total, events, chain }, summary };
  },
});

function chainVerdict(chain: ChainVerification, chains: number): string {
  if (chains === 0) return 'no instance has written to the log yet';
  const subject = chains === 1 ? 'the chain' : `the ${chains} chains (one per instance)`;
  if (chain.ok) return `${subject} ${chains === 1 ? 'verifies' : 'verify'} (${chain.events} events)`;
  return `${subject} ${chains === 1 ? 'is' : 'are'} BROKEN${chain.first_broken_seq === null ? '' : ` at event ${chain.first_broken_seq}`}: ${chain.problem}`;
}
