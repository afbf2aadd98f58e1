import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { toJsonSchemaCompat } from '@modelcontextprotocol/sdk/server/zod-json-schema-compat.js';
import { z } from 'zod';
import type { ToolDefinition } from './tool.js';

/**
 * The tools/list answer, sized for the model that reads it before its first question (the whole
 * list is sent with every conversation). The SDK's own listing is the zod-to-JSON-Schema output
 * verbatim: $schema, additionalProperties and required on every object, and every nested row
 * spelled out, which made the output schemas half of 52 KB. Here:
 * - input schemas keep every argument with its type, enum and description (the model needs all of
 *   them to call), minus the validator-only keywords;
 * - output schemas keep every top-level field with its type, enum and description; a nested object
 *   or a list of rows is "object" or "array of object" (the rows' fields would double the size, and
 *   the tool description and the text answer name them). An advertised schema is only ever looser than the zod schema the server validates
 *   with, so a client that checks structuredContent against it (the SDK's Client does) accepts
 *   every answer.
 */
export function toolListing(tools: ReadonlyArray<ToolDefinition<any, any>>): Tool[] {
  return tools.map((tool) => {
    const input = toJsonSchemaCompat(z.object(tool.inputSchema), { strictUnions: true, pipeStrategy: 'input' }) as JsonSchema;
    const output = toJsonSchemaCompat(z.object(tool.outputSchema), { strictUnions: true, pipeStrategy: 'output' }) as JsonSchema;
    return {
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: { type: 'object' as const, properties: mapValues(input.properties, (p) => compact(resolveRefs(p, input), Infinity)) },
      outputSchema: { type: 'object' as const, properties: mapValues(output.properties, (p) => compact(resolveRefs(p, output), 1)) },
      annotations: hints(tool.annotations),
      ...(tool.view ? { _meta: tool.view } : {}),
    };
  });
}

/** destructive and idempotent only mean something for a tool that writes (the spec says so). */
function hints(annotations: ToolDefinition['annotations']): Tool['annotations'] {
  const { readOnlyHint, openWorldHint, destructiveHint, idempotentHint } = annotations;
  return readOnlyHint ? { readOnlyHint, openWorldHint } : { readOnlyHint, openWorldHint, destructiveHint, idempotentHint };
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  description?: string;
  $ref?: string;
  [key: string]: unknown;
};

/** Keywords a reader (model or client) uses; the rest only tighten validation or repeat the draft. */
const KEPT = ['type', 'enum', 'const', 'description', 'minimum', 'maximum', 'default', 'format'] as const;

/**
 * One schema cut to `depth` levels of structure: an object below the last level keeps only its type
 * (a list keeps its items' type). `T | null` (anyOf with a null branch) becomes the branch with "null" added to its type.
 */
function compact(schema: JsonSchema, depth: number): JsonSchema {
  if (schema.anyOf) {
    const branches = schema.anyOf.filter((b) => b.type !== 'null');
    const nullable = branches.length < schema.anyOf.length;
    if (branches.length === 1) {
      const one = compact(branches[0]!, depth);
      if (schema.description) one.description = schema.description;
      return nullable ? { ...one, type: withNull(one.type) } : one;
    }
    return { anyOf: schema.anyOf.map((b) => compact(b, depth)), ...(schema.description ? { description: schema.description } : {}) };
  }
  const out: Record<string, unknown> = {};
  for (const key of KEPT) if (schema[key] !== undefined) out[key] = schema[key];
  if (depth > 1 && schema.properties) out.properties = mapValues(schema.properties, (p) => compact(p, depth - 1));
  if (schema.items) out.items = compact(schema.items, depth);
  return out as JsonSchema;
}

function withNull(type: JsonSchema['type']): string[] | undefined {
  if (type === undefined) return undefined;
  return [...(Array.isArray(type) ? type : [type]), 'null'].filter((t, i, all) => all.indexOf(t) === i);
}

/** zod-to-json-schema writes a repeated sub-schema once and points at it with "#/properties/...". */
function resolveRefs(schema: JsonSchema, root: JsonSchema, seen = 0): JsonSchema {
  if (seen > 32) return {};
  if (schema.$ref?.startsWith('#/')) {
    const target = schema.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], root);
    const { $ref: _ignored, ...rest } = schema;
    return resolveRefs({ ...(target as JsonSchema), ...rest }, root, seen + 1);
  }
  const out: JsonSchema = { ...schema };
  if (schema.properties) out.properties = mapValues(schema.properties, (p) => resolveRefs(p, root, seen));
  if (schema.items) out.items = resolveRefs(schema.items, root, seen);
  if (schema.anyOf) out.anyOf = schema.anyOf.map((b) => resolveRefs(b, root, seen));
  return out;
}

function mapValues<T, U>(record: Record<string, T> | undefined, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k, fn(v)]));
}
