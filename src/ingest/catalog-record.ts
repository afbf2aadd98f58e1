import { z } from 'zod';
import { isRfc3339WithZone } from './format.js';

/**
 * The second record type of the log format: a server's tool list as it answered `tools/list`
 * (written by `wrap`). It tells unused_tools about tools nobody called, and fleet_catalog when a
 * server's tools changed. A line is this record when `record_type` is "tool_catalog"; every
 * other line is an execution, so logs written before it existed read as before.
 */
export const TOOL_CATALOG = 'tool_catalog';

export const toolListRecord = z.object({
  record_type: z.literal(TOOL_CATALOG),
  seen_at: z.string().refine(isRfc3339WithZone, 'an RFC 3339 timestamp with a zone'),
  server: z.string().min(1).max(256),
  tools: z
    .array(
      z.object({
        name: z.string().min(1).max(256),
        description: z.string().max(4000).optional(),
        /** SHA-256 (hex) of the tool's inputSchema as canonical JSON (keys sorted). */
        input_schema_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
      }),
    )
    .max(10_000),
});

export type ToolListRecord = z.infer<typeof toolListRecord>;

export function isToolListLine(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>).record_type === TOOL_CATALOG;
}

/** The record, or the quarantine reason naming every problem (as execution reasons do). */
export function parseToolList(value: unknown): { record: ToolListRecord } | { reason: string } {
  const parsed = toolListRecord.safeParse(value);
  if (parsed.success) return { record: parsed.data };
  return {
    reason: parsed.error.issues
      .map((i) => `invalid_value:${i.path.join('.') || 'record'} (${i.message})`)
      .join(' | '),
  };
}
