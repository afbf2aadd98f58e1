import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (standardwebhooks.com) signature verification: HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${body}` with the secret's bytes (`whsec_` + base64),
 * compared in constant time; the header may carry several `v1,<base64>` signatures (secret
 * rotation) and any one matching any configured secret is enough.
 */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookCheck =
  | { ok: true; id: string }
  | { ok: false; reason: string };

export function secretBytes(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

export function signWebhook(secret: string, id: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

export function verifyWebhook(
  secrets: readonly string[],
  headers: { id?: string; timestamp?: string; signature?: string },
  body: Buffer,
  nowSeconds: number,
): WebhookCheck {
  if (!headers.id || !headers.timestamp || !headers.signature) {
    return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
  }
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp)) return { ok: false, reason: 'webhook-timestamp must be whole seconds since the epoch' };
  if (Math.abs(nowSeconds - timestamp) > WEBHOOK_TOLERANCE_SECONDS) {
    return { ok: false, reason: `webhook-timestamp is more than ${WEBHOOK_TOLERANCE_SECONDS / 60} minutes away from the server's clock` };
  }
  const offered = headers.signature
    .split(' ')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));
  for (const secret of secrets) {
    const expected = Buffer.from(signWebhook(secret, headers.id, timestamp, body).slice(3), 'base64');
    if (offered.some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected))) {
      return { ok: true, id: headers.id };
    }
  }
  return { ok: false, reason: 'no webhook signature matches a configured secret' };
}
