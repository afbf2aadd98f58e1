import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../access/caller.js';
import { blockFromRecords, type LineBlock } from '../ingest/lines.js';
import { acceptOtlpLogs, ingestOtlpMetrics, ingestOtlpTraces, OtlpShapeError, type OtlpOutcome } from '../ingest/otlp-ingest.js';
import { decodeOtlp, encodeOtlpResponse, OtlpDecodeError, type OtlpSignal } from '../ingest/otlp-proto.js';
import type { HttpAppOptions } from './app.js';
import type { IngestTarget } from './ingest-target.js';
import { BodyError, DEFAULT_MAX_BODY_BYTES, readBody } from './body.js';
import { verifyWebhook } from './webhooks.js';

interface IngestScopeOptions extends HttpAppOptions {
  ingest: IngestTarget;
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<Caller | undefined>;
  log: (line: string) => void;
}

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'text/plain'];

/**
 * An ingest body as lines: NDJSON as sent (line i is record i), a JSON array one element per
 * line, a JSON object as one line. Anything else is a 400 that says what to send.
 */
export function bodyToBlock(body: Buffer, contentType: string | undefined): { block: LineBlock; records: number } {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  const text = body.toString('utf8');
  if (text.trim() === '') throw new BodyError(400, 'The body is empty: send a JSON object, a JSON array, or NDJSON records.');
  if (NDJSON_TYPES.includes(type)) {
    // The bytes as sent (not the decoded text): invalid UTF-8 must reach validation to be named.
    const data = body.subarray(0, body.length - (body.at(-1) === 0x0a ? (body.at(-2) === 0x0d ? 2 : 1) : 0));
    // Blank lines are no records: they are neither counted nor rejected.
    const records = text.split('\n').filter((line) => line.trim() !== '').length;
    return { block: { firstLineNo: 1, data, rejects: [] }, records };
  }
  if (type !== 'application/json') {
    throw new BodyError(415, `Content-Type ${type} is not accepted; send application/json (an object or an array) or application/x-ndjson.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BodyError(400, `The body is not valid JSON (${(error as Error).message}); for one record per line use Content-Type application/x-ndjson.`);
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw new BodyError(400, 'The JSON array is empty.');
  return { block: blockFromRecords(items), records: items.length };
}

export async function registerIngestRoutes(scope: FastifyInstance, options: IngestScopeOptions): Promise<void> {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxQueued = options.maxQueuedWrites ?? 8;
  // Bodies are read here, not by Fastify's parsers: gzip with a decoded-size limit, raw bytes kept for signatures.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', async (request: FastifyRequest, payload: NodeJS.ReadableStream) =>
    readBody(payload as never, request.headers['content-encoding'] as string | undefined, limit),
  );

  // Ingest requests being stored: each holds its body in memory until its batch commits. Other
  // writes (audit events, the watcher) do not count: a tool's audit event must not turn away data.
  let inFlight = 0;
  const admitted =
    (handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      if (inFlight >= maxQueued) {
        return reply.code(503).header('Retry-After', '1').send({ error: 'Too many ingest requests are waiting for the store; retry after a second.' });
      }
      inFlight++;
      try {
        return await handler(request, reply);
      } finally {
        inFlight--;
      }
    };

  /** Bearer token with an ingest or admin role, a valid webhook signature, or local mode. */
  const authorizeIngest = async (request: FastifyRequest, reply: FastifyReply, body: Buffer): Promise<{ webhookId?: string } | undefined> => {
    const headers = request.headers;
    if (!headers.authorization && headers['webhook-signature'] !== undefined && options.webhookSecrets.length > 0) {
      const check = verifyWebhook(
        options.webhookSecrets,
        { id: headers['webhook-id'] as string, timestamp: headers['webhook-timestamp'] as string, signature: headers['webhook-signature'] as string },
        body,
        Math.floor(options.clock.now().getTime() / 1000),
      );
      if (!check.ok) {
        await reply.code(401).send({ error: `Webhook signature refused: ${check.reason}.` });
        return undefined;
      }
      return { webhookId: check.id };
    }
    if (!headers.authorization && options.localMode && options.webhookSecrets.length > 0) {
      await reply.code(401).send({ error: 'This endpoint requires a Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature).' });
      return undefined;
    }
    const caller = await options.authenticate(request, reply);
    if (!caller) return undefined;
    if (caller.role !== 'ingest' && caller.role !== 'admin') {
      await reply.code(403).send({ error: `User ${caller.id} (${caller.role}) may not send data; ingest needs a token with role ingest or admin.` });
      return undefined;
    }
    return {};
  };

  scope.post('/v1/executions', admitted(async (request, reply) => {
    const body = request.body as Buffer | undefined;
    if (!body) throw new BodyError(400, 'The body is empty: send a JSON object, a JSON array, or NDJSON records.');
    const auth = await authorizeIngest(request, reply, body);
    if (!auth) return reply;
    if (auth.webhookId && (await options.ingest.deliverySeen(auth.webhookId))) {
      return { request_id: request.id, duplicate_delivery: true, webhook_id: auth.webhookId };
    }
    const { block, records } = bodyToBlock(body, request.headers['content-type']);
    const result = await options.ingest.ingestLines(block, `http:${request.id}`, auth.webhookId);
    // Two deliveries of the same webhook at once: the second lost on the delivery id and stored nothing.
    if (result.duplicate_delivery) return { request_id: request.id, duplicate_delivery: true, webhook_id: auth.webhookId };
    const rejected = Object.values(result.quarantined).reduce((a, b) => a + b, 0);
    return reply.code(records > 0 && rejected >= records ? 422 : 200).send({
      request_id: request.id,
      received: records,
      accepted: result.inserted,
      updated: result.updated,
      duplicates: result.duplicates,
      tool_lists: result.tool_lists,
      rejected,
      errors: result.rejected.map((r) => ({ index: r.lineNo - 1, reason: r.reason })),
      errors_truncated: result.rejected.length < rejected,
    });
  }));

  /**
   * OTLP/HTTP, JSON or protobuf (the default of most SDKs), gzip or not; the reply is in the
   * request's encoding, as the OTLP specification asks.
   */
  const otlpRoute = (signal: OtlpSignal, handle: (payload: unknown, request: FastifyRequest) => Promise<OtlpOutcome> | OtlpOutcome) =>
    admitted(async (request, reply) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const protobuf = type === 'application/x-protobuf' || type === 'application/protobuf';
      if (!protobuf && type !== 'application/json') {
        return reply.code(415).send({ error: `Content-Type ${type || '(none)'} is not accepted on ${request.url}; send OTLP as application/x-protobuf or application/json.` });
      }
      const body = request.body as Buffer | undefined;
      if (!body) throw new BodyError(400, `The body is empty: send an OTLP export request (${signal}).`);
      if (!(await authorizeIngest(request, reply, body))) return reply;
      let payload: unknown;
      try {
        payload = protobuf ? decodeOtlp(signal, body) : JSON.parse(body.toString('utf8'));
      } catch (error) {
        if (error instanceof OtlpDecodeError) throw new BodyError(400, error.message);
        throw new BodyError(400, `The body is not valid JSON: ${(error as Error).message}`);
      }
      let outcome: OtlpOutcome;
      try {
        outcome = await handle(payload, request);
      } catch (error) {
        if (error instanceof OtlpShapeError) throw new BodyError(400, error.message);
        throw error;
      }
      if (!protobuf) return outcome;
      return reply.type('application/x-protobuf').send(Buffer.from(encodeOtlpResponse(signal, outcome.partialSuccess)));
    });

  const otlp = options.ingest.otlp;
  scope.post('/v1/traces', otlpRoute('trace', (payload, request) => ingestOtlpTraces(otlp, payload, `otlp:${request.id}`)));
  scope.post('/v1/metrics', otlpRoute('metrics', (payload) => ingestOtlpMetrics(otlp, payload)));
  scope.post('/v1/logs', otlpRoute('logs', (payload) => acceptOtlpLogs(payload)));
}
