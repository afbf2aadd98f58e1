import { z } from 'zod';
import { traceExecution } from '../../analytics/trace.js';
import { AccessDenied, UserInputError } from '../../errors.js';
import { defineTool } from '../tool.js';

const FIELDS = ['input', 'output', 'steps'] as const;

export const unmask_execution = defineTool({
  name: 'unmask_execution',
  title: 'Unmask one execution (admins, audited)',
  description: `The raw payloads of one execution (input, output, steps), unmasked. Admins only, with a reason (10+ characters): audited before any data is returned; a refused attempt is audited too.

Use only when trace_execution's masked data cannot resolve an incident.
Example: "Unmask ex_7f3a's input for INC-4521: which account did the sync touch?"`,
  inputSchema: {
    execution_id: z.string().min(1).max(128),
    reason: z.string().min(10, 'reason must be at least 10 characters: say why you need the raw data (ticket, incident)').max(1000).describe('Why the raw data is needed; kept in the audit log.'),
    fields: z.array(z.enum(FIELDS)).min(1).optional().describe('Default all.'),
  },
  outputSchema: {
    execution_id: z.string(),
    user_id: z.string(),
    audit_seq: z.number(),
    fields: z.array(z.enum(FIELDS)),
    input: z.unknown().optional(),
    output: z.unknown().optional(),
    steps: z.array(z.object({ index: z.number(), name: z.string(), input: z.unknown(), output: z.unknown() })).optional(),
  },
  adminOnly: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  // The point of an unmask is the raw data: the redactor does not run on it.
  rawOutput: true,
  async handler(args, ctx) {
    if (!ctx.access.isAdmin()) {
      await ctx.audit.record({ action: 'unmask_denied', target: args.execution_id, reason: args.reason });
      throw new AccessDenied('Only admins can unmask executions; this attempt was recorded in the audit log. Members see their own executions in full with trace_execution.');
    }
    // Ten spaces are not a reason: the audit log must say why.
    if (args.reason.replace(/\s/g, '').length < 10) {
      throw new UserInputError('reason must have at least 10 characters other than spaces: say why you need the raw data (a ticket or incident, what you look for).');
    }
    const trace = await traceExecution(ctx.analytics, args.execution_id);
    const fields = args.fields ?? [...FIELDS];
    // Audit first: if this throws, no data leaves the server (fail closed).
    const event = await ctx.audit.record({ action: 'unmask', target: args.execution_id, reason: args.reason, details: { fields } });
    const structured = {
      execution_id: trace.execution.execution_id,
      user_id: trace.execution.user_id,
      audit_seq: event.seq,
      fields,
      ...(fields.includes('input') ? { input: trace.execution.input } : {}),
      ...(fields.includes('output') ? { output: trace.execution.output } : {}),
      ...(fields.includes('steps') ? { steps: trace.steps.map((s) => ({ index: s.index, name: s.name, input: s.input, output: s.output })) } : {}),
    };
    return {
      structured,
      summary: `Unmasked ${fields.join(', ')} of ${trace.execution.execution_id} (user ${trace.execution.user_id}); recorded as audit event ${event.seq} with your reason. The raw data is in the structured result.`,
    };
  },
});
