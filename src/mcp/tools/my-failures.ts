import { z } from 'zod';
import { myFailures } from '../../analytics/my-failures.js';
import { emptyWindowNote, limitArg, me, noteShape, rangeOf, span, timeArgs, withNote } from '../common.js';
import { defineTool, READ_ONLY } from '../tool.js';

const call = z.object({ tool: z.string(), arguments: z.record(z.unknown()) });

export const my_failures = defineTool({
  name: 'my_failures',
  title: 'My recent failures',
  description: `Your own failed, stopped or terminated tool calls, newest first: the error, the failing step (connector, whose credentials), the same tool across the fleet, a verdict ("only you": your input, credentials or quota; "everyone": the tool is down, since when; "mixed") and the next calls to make.

Right after a failure: "is it me?". Default window 24h.
Example: "My jira call just failed. Is it only me?"`,
  inputSchema: {
    ...timeArgs('24h'),
    tool: z.string().optional(),
    limit: limitArg(5, 20),
  },
  outputSchema: {
    window: z.object({ from: z.string(), to: z.string() }),
    user: z.string(),
    total_bad: z.number(),
    failures: z.array(
      z.object({
        execution_id: z.string(),
        started_at: z.string(),
        status: z.string(),
        tool: z.string(),
        server: z.string().nullable(),
        client: z.string().nullable(),
        error: z.object({ type: z.string().nullable(), layer: z.string().nullable(), message: z.string().nullable() }),
        failing_step: z.object({ index: z.number(), name: z.string(), connector: z.string().nullable(), auth_mode: z.string().nullable(), auth_identity: z.string().nullable() }).nullable(),
        fleet: z.object({
          tool: z.string(), server: z.string().nullable(), others_executions: z.number(), others_failures: z.number(), others_users_failed: z.number(),
          others_users_succeeded: z.number(), failures: z.number(), users_affected: z.number(), first_failure_at: z.string().nullable(),
          dominant_error_type: z.string().nullable(), dominant_connector: z.string().nullable(),
        }),
        verdict: z.enum(['only you', 'everyone', 'mixed']),
        verdict_explained: z.string(),
        next: z.array(call),
      }),
    ),
    note: noteShape,
  },
  annotations: READ_ONLY,
  async handler(args, ctx) {
    const range = await rangeOf(args, ctx, '24h');
    const user = me(ctx);
    const result = await myFailures(ctx.analytics, { range, user, tool: args.tool, limit: args.limit });
    const note = result.failures.length === 0 ? await emptyWindowNote(ctx, range) : undefined;
    const lines = result.failures.map((f, i) => {
      const step = f.failing_step
        ? `; step ${f.failing_step.index} "${f.failing_step.name}"${f.failing_step.connector ? ` on ${f.failing_step.connector}` : ''}${f.failing_step.auth_identity ? ` with ${f.failing_step.auth_identity}'s credentials (${f.failing_step.auth_mode})` : ''}`
        : '';
      const error = [f.error.type, f.error.layer && `(${f.error.layer} layer)`, f.error.message && `"${f.error.message.slice(0, 200)}"`].filter(Boolean).join(' ');
      const next = f.next.map((n) => `${n.tool} ${JSON.stringify(n.arguments)}`).join('; ');
      return `${i + 1}. ${f.execution_id}: ${f.tool}${f.server ? ` (${f.server})` : ''} ${f.status} at ${f.started_at}${error ? `: ${error}` : ''}${step}.\n   ${f.verdict_explained}\n   Next: ${next}`;
    });
    const head = result.failures.length
      ? `${result.total_bad} failed, stopped or terminated call(s) of yours (${user}) ${span(result.window)}${result.total_bad > result.failures.length ? `; the ${result.failures.length} newest` : ''}:`
      : `No failed, stopped or terminated call of yours (${user}) ${span(result.window)}.`;
    return withNote(result, [head, ...lines].join('\n'), note);
  },
});
