import { z } from 'zod';
import { AccessDenied } from '../../errors.js';
import { exportStatus } from '../../export/exporter.js';
import { defineTool, READ_ONLY } from '../tool.js';

export const export_status = defineTool({
  name: 'export_status',
  title: 'SIEM export status (admins)',
  description: `Each SIEM export sink: policy, streams, sent, lag (events, seconds), last success and error. Admins.

Example: "Is the SIEM feed keeping up?"`,
  inputSchema: {},
  outputSchema: { sinks: z.array(z.object({}).passthrough()) },
  annotations: READ_ONLY,
  adminOnly: true,
  async handler(_args, ctx) {
    if (!ctx.access.isAdmin()) throw new AccessDenied('Only admins can see the export sinks.');
    const sinks = ctx.exportStore ? await exportStatus(ctx.exportStore, ctx.exportSinks) : [];
    const summary = sinks.length
      ? sinks.map((s) => `${s.name} (${s.type}, ${s.policy}): ${s.sent} sent, ${s.lag_events} behind${s.lag_seconds !== null ? ` by ${s.lag_seconds} s` : ''}; last success ${s.last_success ?? 'never'}${s.last_error ? `; last error ${s.last_error_at}: ${s.last_error}` : ''}.`).join('\n')
      : 'No export sinks: serve --export FILE configures them (syslog, Splunk HEC, OTLP logs, NDJSON files).';
    return { structured: { sinks: sinks.map((s) => ({ ...s })) }, summary };
  },
});
