import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { UserInputError } from '../errors.js';
import { signWebhook } from '../http/webhooks.js';
import type { Severity } from './rules.js';

/**
 * Where notifications go. A channel is configured in the alerts file (or from the environment:
 * any secret field may say `env:NAME`); its URL and secret never leave the process again: tools
 * show a channel's name and type only.
 */

const httpUrl = z.string().superRefine((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be an http(s) URL' });
  }
});

export const CHANNEL_SCHEMA = z.discriminatedUnion('type', [
  z.object({ type: z.literal('webhook'), url: httpUrl, secret: z.string().min(1).optional(), headers: z.record(z.string()).optional() }).strict(),
  z.object({ type: z.literal('slack'), url: httpUrl }).strict(),
  z.object({ type: z.literal('pagerduty'), routing_key: z.string().min(1), url: httpUrl.default('https://events.pagerduty.com/v2/enqueue') }).strict(),
]);
export type Channel = z.output<typeof CHANNEL_SCHEMA>;

/** `env:NAME` values are read from the environment, so a config file can be committed without secrets. */
function fromEnvironment(value: unknown, where: string, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string' && value.startsWith('env:')) {
    const name = value.slice(4);
    const found = env[name];
    if (!found) throw new UserInputError(`${where} says ${value}, but the environment variable ${name} is not set.`);
    return found;
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromEnvironment(v, `${where}.${k}`, env)]));
  }
  return value;
}

export function parseChannel(name: string, input: unknown, env: NodeJS.ProcessEnv = process.env): Channel {
  if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(name)) throw new UserInputError(`channel name ${JSON.stringify(name)}: letters, digits, _ . - (up to 64).`);
  const type = (input as { type?: unknown } | null)?.type;
  if (!['webhook', 'slack', 'pagerduty'].includes(type as string)) {
    throw new UserInputError(`channel ${name}: unknown type ${JSON.stringify(type)}; type is one of webhook, slack, pagerduty.`);
  }
  const parsed = CHANNEL_SCHEMA.safeParse(fromEnvironment(input, `channel ${name}`, env));
  if (!parsed.success) {
    // The values may be secrets: name the fields, never echo them.
    throw new UserInputError(`channel ${name} (${String(type)}): ${parsed.error.issues.map((i) => `${i.path.join('.') || '(channel)'}: ${i.message}`).join('; ')}.`);
  }
  return parsed.data;
}

/** What a notification says, whatever the channel: stored with it, rendered per channel when sent. */
export interface AlertMessage {
  event: 'firing' | 'repeat' | 'resolved';
  rule: string;
  kind: string;
  severity: Severity;
  group: string;
  fingerprint: string;
  /** One line for a pager or a chat. */
  summary: string;
  /** What the rule watches. */
  condition: string;
  value: number;
  threshold: number;
  starts_at: string;
  ends_at: string | null;
  /** Why it fired: the value, series around it, top contributors, sample execution ids. */
  explanation: Record<string, unknown>;
  /** Where to look next (an MCP tool call an agent can make). */
  next: string;
}

export interface Request {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The request for one channel: Alertmanager's webhook v4 shape, Slack blocks, or a PagerDuty event. */
export function render(channelName: string, channel: Channel, message: AlertMessage, notificationId: string, now: Date): Request {
  const status = message.event === 'resolved' ? 'resolved' : 'firing';
  if (channel.type === 'webhook') {
    const labels = { alertname: message.rule, severity: message.severity, kind: message.kind, ...(message.group ? { group: message.group } : {}) };
    const annotations = { summary: message.summary, description: message.condition, next: message.next };
    const body = JSON.stringify({
      version: '4',
      groupKey: `{}:{alertname="${message.rule}"}`,
      truncatedAlerts: 0,
      status,
      receiver: channelName,
      groupLabels: { alertname: message.rule },
      commonLabels: labels,
      commonAnnotations: annotations,
      externalURL: '',
      alerts: [
        {
          status,
          labels,
          annotations,
          startsAt: message.starts_at,
          endsAt: message.ends_at ?? ZERO_TIME,
          generatorURL: '',
          fingerprint: message.fingerprint,
          value: message.value,
          threshold: message.threshold,
          explanation: message.explanation,
        },
      ],
    });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'mcp-blackbox', ...(channel.headers ?? {}) };
    if (channel.secret) {
      // Standard Webhooks: the receiver checks the signature and drops a replayed id.
      const timestamp = Math.floor(now.getTime() / 1000);
      headers['webhook-id'] = notificationId;
      headers['webhook-timestamp'] = String(timestamp);
      headers['webhook-signature'] = signWebhook(channel.secret, notificationId, timestamp, body);
    }
    return { url: channel.url, headers, body };
  }
  if (channel.type === 'slack') {
    const icon = message.event === 'resolved' ? ':white_check_mark:' : message.severity === 'critical' || message.severity === 'error' ? ':rotating_light:' : ':warning:';
    const title = `${message.event === 'resolved' ? 'Resolved' : message.event === 'repeat' ? 'Still firing' : 'Firing'}: ${message.rule}${message.group ? ` (${message.group})` : ''}`;
    const body = JSON.stringify({
      text: `${icon} ${title}: ${message.summary}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
        { type: 'section', text: { type: 'mrkdwn', text: `${icon} ${message.summary}`.slice(0, 3000) } },
        { type: 'section', fields: [
          { type: 'mrkdwn', text: `*Severity*\n${message.severity}` },
          { type: 'mrkdwn', text: `*Since*\n${message.starts_at}` },
          { type: 'mrkdwn', text: `*Value*\n${message.value}` },
          { type: 'mrkdwn', text: `*Threshold*\n${message.threshold}` },
        ] },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `${message.condition}. Next: ${message.next}`.slice(0, 3000) }] },
      ],
    });
    return { url: channel.url, headers: { 'content-type': 'application/json' }, body };
  }
  const body = JSON.stringify(
    status === 'resolved'
      ? { routing_key: channel.routing_key, event_action: 'resolve', dedup_key: message.fingerprint }
      : {
          routing_key: channel.routing_key,
          event_action: 'trigger',
          dedup_key: message.fingerprint,
          payload: {
            summary: message.summary.slice(0, 1024),
            source: 'mcp-blackbox',
            severity: message.severity,
            timestamp: message.starts_at,
            component: message.group || undefined,
            group: message.rule,
            class: message.kind,
            custom_details: { condition: message.condition, value: message.value, threshold: message.threshold, next: message.next, ...message.explanation },
          },
        },
  );
  return { url: channel.url, headers: { 'content-type': 'application/json' }, body };
}

export const newNotificationId = () => `msg_${randomUUID()}`;
