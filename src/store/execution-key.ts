/**
 * The primary key of an execution: its id as compact bytes. Random ids (UUIDv4, OpenTelemetry
 * trace and span ids) change DuckDB's primary-key index all over, and DuckDB keeps every part of
 * the index that a transaction changes in memory. As text, a UUID held about 100 bytes of index
 * per execution; as 16 bytes about 45 (a table of only the key: 102 MB at 2.25M random keys),
 * and 2M of them went in 2.4 times as fast.
 *
 * The mapping is one to one, so two ids share a key only if they are the same string:
 * - 0x01 + 16 bytes: a UUID in canonical lower-case form (what crypto.randomUUID and Python's
 *   str(uuid4()) print). Upper-case or braced UUIDs are other strings, so they take the text form.
 * - 0x02 + 24 bytes: the OTLP receiver's ids, `<32 hex traceId>-<16 hex spanId>`.
 * - 0x00 + the UTF-8 bytes: any other id. Byte order is the text's order, so time-ordered ids
 *   (ULID, counters, UUIDv7 in either form) still only change the newest end of the index.
 *
 * A DuckDB macro (migration 8), so every writer and lookup computes it the same way:
 * `WHERE execution_key = execution_key_of($id)` is answered from the index.
 */
export const EXECUTION_KEY_MACRO = `
  CREATE OR REPLACE MACRO execution_key_of(id) AS CASE
    WHEN regexp_full_match(id, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
      THEN '\\x01'::BLOB || unhex(replace(id, '-', ''))
    WHEN regexp_full_match(id, '[0-9a-f]{32}-[0-9a-f]{16}')
      THEN '\\x02'::BLOB || unhex(replace(id, '-', ''))
    ELSE '\\x00'::BLOB || encode(id)
  END`;
