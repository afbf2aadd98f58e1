import type { TailSink } from '../../ingest/tailer.js';
import type { Checkpoint } from '../checkpoints.js';
import type { ClickHouseStore } from './store.js';

/**
 * Watched files on a ClickHouse store: the read positions are kept per instance (a name stable
 * across the instance's restarts, such as its host name), and saved once ClickHouse confirmed
 * the rows they cover. A crash between the two reads those lines again: their records count as
 * duplicates, stored once.
 */
export function clickhouseTailSink(store: ClickHouseStore, instance: string): TailSink {
  const ch = store.ch;
  return {
    async loadCheckpoint(fingerprint) {
      return ch.one<Checkpoint>(
        `SELECT fingerprint, fingerprint_bytes AS fingerprintBytes, path, byte_offset AS byteOffset, line_no AS lineNo
         FROM ${ch.t('ingest_checkpoints')} WHERE instance = {instance:String} AND fingerprint = {fingerprint:String}
         ORDER BY saved_at DESC, byte_offset DESC LIMIT 1`,
        { instance, fingerprint },
      );
    },
    async ingest(block, source, checkpoint) {
      const result = await store.ingestLines(block, source);
      await ch.insert('ingest_checkpoints', [{
        instance,
        fingerprint: checkpoint.fingerprint,
        fingerprint_bytes: checkpoint.fingerprintBytes,
        path: checkpoint.path,
        byte_offset: checkpoint.byteOffset,
        line_no: checkpoint.lineNo,
      }]);
      return result;
    },
  };
}
