import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import protobuf from 'protobufjs';
import type { ExportTraceServiceRequest } from './otlp.js';

/**
 * OTLP in protobuf (OTLP/HTTP with application/x-protobuf, and OTLP/gRPC), decoded with
 * protobufjs from the official .proto files (proto/, copied from opentelemetry-proto) into the
 * same shape as OTLP/HTTP JSON, so one mapping (otlp.ts) serves every transport. The only
 * differences the JSON encoding defines are undone here: trace and span ids are hex in JSON and
 * raw bytes in protobuf; 64-bit integers are decimal strings in both.
 */

const PROTO_DIR = join(PACKAGE_ROOT, 'proto');
const SERVICES = ['trace', 'metrics', 'logs'] as const;
export type OtlpSignal = (typeof SERVICES)[number];

/** A request that is not valid protobuf for its message type: a 400 (HTTP) or INVALID_ARGUMENT (gRPC). */
export class OtlpDecodeError extends Error {}

let root: protobuf.Root | undefined;

function types(): protobuf.Root {
  if (root) return root;
  const loaded = new protobuf.Root();
  // The files import each other by their path under the repository's root.
  loaded.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  loaded.loadSync(SERVICES.map((s) => `opentelemetry/proto/collector/${s}/v1/${s}_service.proto`), { keepCase: false });
  root = loaded;
  return root;
}

const REQUEST = { trace: 'ExportTraceServiceRequest', metrics: 'ExportMetricsServiceRequest', logs: 'ExportLogsServiceRequest' } as const;
const RESPONSE = { trace: 'ExportTraceServiceResponse', metrics: 'ExportMetricsServiceResponse', logs: 'ExportLogsServiceResponse' } as const;

function messageType(signal: OtlpSignal, name: string): protobuf.Type {
  return types().lookupType(`opentelemetry.proto.collector.${signal}.v1.${name}`);
}

/** A protobuf export request as the plain object its JSON encoding would parse to. */
export function decodeOtlp(signal: OtlpSignal, body: Uint8Array): Record<string, unknown> {
  const type = messageType(signal, REQUEST[signal]);
  let message: protobuf.Message;
  try {
    message = type.decode(body);
  } catch (error) {
    throw new OtlpDecodeError(`The body is not a valid OTLP ${REQUEST[signal]} in protobuf: ${error instanceof Error ? error.message : String(error)}`);
  }
  const plain = type.toObject(message, { longs: String, bytes: String, enums: Number, defaults: false, arrays: true });
  if (signal === 'trace') hexIds(plain as ExportTraceServiceRequest);
  return plain;
}

/** An export request in protobuf, from its JSON-encoding shape (ids as bytes): what an SDK's protobuf exporter sends. For tests and the bench. */
export function encodeOtlpRequest(signal: OtlpSignal, request: Record<string, unknown>): Uint8Array {
  const type = messageType(signal, REQUEST[signal]);
  return type.encode(type.fromObject(request)).finish();
}

/** The export response in protobuf: empty on success, or a partial success with its count and message. */
export function encodeOtlpResponse(signal: OtlpSignal, partialSuccess?: Record<string, unknown>): Uint8Array {
  const type = messageType(signal, RESPONSE[signal]);
  return type.encode(type.fromObject(partialSuccess ? { partialSuccess } : {})).finish();
}

/** The request and response types of a gRPC service method (for @grpc/grpc-js's service definition). */
export function grpcCodec(signal: OtlpSignal): { decode: (body: Buffer) => Record<string, unknown>; encode: (response: Record<string, unknown>) => Buffer } {
  const response = messageType(signal, RESPONSE[signal]);
  return {
    decode: (body) => decodeOtlp(signal, body),
    encode: (value) => Buffer.from(response.encode(response.fromObject(value)).finish()),
  };
}

/** protobufjs gives bytes as base64 (bytes: String); OTLP/JSON gives trace and span ids as hex. */
function hexIds(request: ExportTraceServiceRequest): void {
  const hex = (b64: unknown) => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('hex') : undefined);
  for (const resource of request.resourceSpans ?? []) {
    for (const scope of resource.scopeSpans ?? []) {
      for (const span of (scope.spans ?? []) as Array<Record<string, unknown>>) {
        for (const key of ['traceId', 'spanId', 'parentSpanId']) {
          if (span[key] !== undefined) span[key] = hex(span[key]);
        }
        for (const link of (span.links ?? []) as Array<Record<string, unknown>>) {
          for (const key of ['traceId', 'spanId']) if (link[key] !== undefined) link[key] = hex(link[key]);
        }
      }
    }
  }
}
