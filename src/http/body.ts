import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** Ingest bodies are capped after decompression. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a request body, gunzipping `Content-Encoding: gzip`, and stops as soon as the decoded
 * size passes `limit` (413): a gzip bomb never gets to expand in memory.
 */
export async function readBody(stream: IncomingMessage | Readable, encoding: string | undefined, limit: number): Promise<Buffer> {
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  if (coding !== 'identity' && coding !== 'gzip') {
    throw new BodyError(415, `Content-Encoding ${coding} is not supported; send gzip or no encoding.`);
  }
  const source: Readable = coding === 'gzip' ? stream.pipe(createGunzip()) : stream;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        break;
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw new BodyError(400, `The body could not be read${coding === 'gzip' ? ' as gzip' : ''}: ${(error as Error).message}`);
  }
  if (tooLarge) {
    // Stop decoding (a gzip bomb must not expand), but read the rest of what the client sends so
    // that it gets the 413 instead of a reset connection.
    if (source !== stream) {
      (stream as Readable).unpipe();
      source.destroy();
    }
    await drain(stream as Readable, MAX_DRAIN_BYTES);
    throw new BodyError(413, `The body is over the limit of ${sizeText(limit)}${coding === 'gzip' ? ' once decompressed' : ''}; send smaller batches.`);
  }
  return Buffer.concat(chunks, size);
}

/** A client still sending past this is cut off rather than read. */
const MAX_DRAIN_BYTES = 256 * 1024 * 1024;

async function drain(stream: Readable, maxBytes: number): Promise<void> {
  if (stream.readableEnded) return;
  let seen = 0;
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) {
        stream.destroy();
        resolve();
      }
    });
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
    stream.resume();
  });
}

/** 20 MiB, 64 KiB, 512 bytes: the limit as a person reads it (a limit under 1 MiB is not "0 MiB"). */
function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
