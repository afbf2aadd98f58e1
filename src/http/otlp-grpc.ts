import * as grpc from '@grpc/grpc-js';
import { LOCAL_CALLER, type Caller } from '../access/caller.js';
import { UserInputError } from '../errors.js';
import { acceptOtlpLogs, ingestOtlpMetrics, ingestOtlpTraces, OtlpShapeError, type OtlpOutcome } from '../ingest/otlp-ingest.js';
import { grpcCodec, OtlpDecodeError, type OtlpSignal } from '../ingest/otlp-proto.js';
import type { OtlpStore } from '../ingest/otlp-store.js';
import { HttpAuthError, type HttpAuth } from './auth.js';
import { DEFAULT_MAX_BODY_BYTES } from './body.js';
import { planExposure } from './exposure.js';

export interface OtlpGrpcOptions {
  /** Where the spans and points land: the store's OTLP entry (ingest/otlp-store.ts). */
  otlp: OtlpStore;
  auth: HttpAuth;
  /** Largest request accepted, as for HTTP ingest (20 MiB); larger ones get RESOURCE_EXHAUSTED. */
  maxMessageBytes?: number;
  log: (line: string) => void;
}

export interface RunningGrpcServer {
  address: string;
  close(): Promise<void>;
}

const SERVICE = { trace: 'TraceService', metrics: 'MetricsService', logs: 'LogsService' } as const;

/**
 * OTLP/gRPC (the collector services' Export methods) on its own port, 4317 by convention: the
 * same auth as HTTP ingest (a bearer token of role ingest or admin in the `authorization`
 * metadata; on loopback with no auth configured, anyone on this machine), the same limit, the
 * same mapping. Requests are decoded with the official protos (otlp-proto.ts).
 */
export async function startOtlpGrpc(listen: { host: string; port: number }, options: OtlpGrpcOptions): Promise<RunningGrpcServer> {
  // The same rule as HTTP: a listener other machines can reach needs caller auth.
  const exposure = planExposure(listen.host, options.auth, []);
  const limit = options.maxMessageBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': limit });

  const handle = (signal: OtlpSignal, run: (payload: unknown, peer: string) => Promise<OtlpOutcome> | OtlpOutcome) => {
    const codec = grpcCodec(signal);
    const definition: grpc.ServiceDefinition = {
      Export: {
        path: `/opentelemetry.proto.collector.${signal}.v1.${SERVICE[signal]}/Export`,
        requestStream: false,
        responseStream: false,
        // Decoding happens in the handler, where a bad request can be answered INVALID_ARGUMENT.
        requestDeserialize: (bytes: Buffer) => bytes,
        requestSerialize: (value: Buffer) => value,
        responseSerialize: (value: Record<string, unknown>) => codec.encode(value),
        responseDeserialize: (bytes: Buffer) => codec.decode(bytes),
      },
    };
    const implementation: grpc.UntypedServiceImplementation = {
      Export: (call: grpc.ServerUnaryCall<Buffer, Record<string, unknown>>, callback: grpc.sendUnaryData<Record<string, unknown>>) => {
        void (async () => {
          const caller = await authorize(call.metadata, options.auth, exposure.localMode);
          if ('code' in caller) return callback(caller);
          let payload: unknown;
          try {
            payload = codec.decode(call.request);
          } catch (error) {
            if (error instanceof OtlpDecodeError) return callback({ code: grpc.status.INVALID_ARGUMENT, details: error.message });
            throw error;
          }
          const outcome = await run(payload, call.getPeer());
          callback(null, outcome.partialSuccess ? { partialSuccess: outcome.partialSuccess } : {});
        })().catch((error: unknown) => {
          if (error instanceof OtlpShapeError) return callback({ code: grpc.status.INVALID_ARGUMENT, details: error.message });
          if (error instanceof UserInputError) return callback({ code: grpc.status.INVALID_ARGUMENT, details: error.message });
          options.log(`otlp-grpc: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          callback({ code: grpc.status.UNAVAILABLE, details: 'The store could not take the request; retry.' });
        });
      },
    };
    server.addService(definition, implementation);
  };
  handle('trace', (payload, peer) => ingestOtlpTraces(options.otlp, payload, `otlp-grpc:${peer}`));
  handle('metrics', (payload) => ingestOtlpMetrics(options.otlp, payload));
  handle('logs', (payload) => acceptOtlpLogs(payload));

  const target = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  ).catch((error: Error) => {
    throw new UserInputError(`Cannot listen for OTLP/gRPC on ${target}: ${error.message}. Pass --otlp-grpc with another [HOST:]PORT.`);
  });
  return {
    address: `${listen.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** The caller from the `authorization` metadata, or the gRPC error to answer with. */
async function authorize(metadata: grpc.Metadata, auth: HttpAuth, localMode: boolean): Promise<Caller | grpc.ServiceError> {
  const header = metadata.get('authorization')[0];
  const fail = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
  try {
    const caller = (await auth.authenticate(typeof header === 'string' ? header : undefined)) ?? (localMode ? LOCAL_CALLER : undefined);
    if (!caller) return fail(grpc.status.UNAUTHENTICATED, 'This server requires a bearer token (authorization: Bearer <token>).');
    if (caller.role !== 'ingest' && caller.role !== 'admin') return fail(grpc.status.PERMISSION_DENIED, 'Only tokens with role ingest or admin may send data.');
    return caller;
  } catch (error) {
    if (error instanceof HttpAuthError) return fail(error.status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, error.message);
    throw error;
  }
}
