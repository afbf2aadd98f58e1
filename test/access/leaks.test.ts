import { describe, expect, it } from 'vitest';
import { maskValue } from '../../src/access/masking.js';
import { redact, redactString } from '../../src/access/redact.js';
import { TOOLS } from '../../src/mcp/registry.js';
import { smallFleet } from '../fixtures/small-fleet.js';
import { call, connect, fixtureStore, text } from '../mcp/harness.js';

const ANA = { id: 'u_ana', role: 'member' } as const;
const BEN = { id: 'u_ben', role: 'member' } as const;
const ROOT = { id: 'u_root', role: 'admin' } as const;

// Each credential format, in the text around it that a log line would carry.
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const BEARER = 'sk9Xq2LmN4pR7tV1wY3zA5bC8dE0fG6h';
const URL_PASSWORD = 'Sup3rS3cretPw';
const SLACK = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const SLACK_HOOK = 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';
const STRIPE = `sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`;
const GITHUB_FINE = `github_pat_11ABCDEFG0${'a1B2c3D4e5'.repeat(5)}`;
const GOOGLE = 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q';
const GCP_KEY_ID = '8f14e45fceea167a5a36dedd4bea2543f7a9b0c1';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
const BASIC = Buffer.from('svc-sync:Pa55w0rd!').toString('base64');

const FORMATS: Array<[string, string, string]> = [
  ['AWS secret access key', `aws_secret ${AWS_SECRET} in env`, AWS_SECRET],
  ['Bearer value', `Authorization: Bearer ${BEARER}`, BEARER],
  ['Basic value', `Authorization: Basic ${BASIC}`, BASIC],
  ['URL userinfo', `GET https://svc:${URL_PASSWORD}@db.internal:5432/x failed`, URL_PASSWORD],
  ['password= pair', 'connect failed: host=db password=hunter2&user=x', 'hunter2'],
  ['pwd= pair', 'login pwd=Tr0ub4dor;', 'Tr0ub4dor'],
  ['secret= pair', 'client_secret: s3cr3t-value-9', 's3cr3t-value-9'],
  ['Slack token', `slack said no to ${SLACK}`, SLACK],
  ['Slack webhook URL', `posting to ${SLACK_HOOK}`, 'XXXXXXXXXXXXXXXXXXXXXXXX'],
  ['Stripe key', `stripe ${STRIPE}`, STRIPE],
  ['GitHub fine-grained token', `gh ${GITHUB_FINE}`, GITHUB_FINE],
  ['Google API key', `maps key=${GOOGLE}`, GOOGLE],
  ['Google API key, bare', `maps ${GOOGLE} quota`, GOOGLE],
  ['private-key block', `key: ${PEM}`, 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'],
  ['private-key block cut off by a cap', `key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7`, 'MIIEowIBAAKCAQEA7'],
  ['GCP service-account JSON as text', `{"type": "service_account", "private_key_id": "${GCP_KEY_ID}", "client_email": "x@p.iam.gserviceaccount.com"}`, GCP_KEY_ID],
];

describe('the redactor knows the common credential formats', () => {
  for (const [name, input, secret] of FORMATS) {
    it(name, () => {
      const out = redactString(input);
      expect(out).not.toContain(secret);
      expect(out).toContain('[REDACTED:');
    });
  }

  it('leaves prose and ids alone', () => {
    for (const plain of [
      'Basic setup completed',
      'commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'max_tokens: 512 and tokens used 40',
      'ex_000001bf failed at step 2',
      'https://example.com/path?q=1',
    ]) {
      expect(redactString(plain)).toBe(plain);
    }
  });

  it('redacts object keys, and a GCP service-account key as JSON', () => {
    const out = redact({ [STRIPE]: 1, nested: { [`token ${GOOGLE}`]: 'x' }, sa: { type: 'service_account', private_key_id: GCP_KEY_ID, private_key: PEM } });
    const json = JSON.stringify(out);
    for (const secret of [STRIPE, GOOGLE, GCP_KEY_ID, 'MIIEvQ']) expect(json).not.toContain(secret);
    expect(out).toMatchObject({ '[REDACTED:stripe_key]': 1, sa: { type: 'service_account', private_key_id: '[REDACTED:private_key_id]' } });
  });

  it('redacts a card number stored as a JSON number in payloads, not in metrics', () => {
    expect(redact({ card: 4242424242424242, amount: 12 }, { enabled: true, numbers: true })).toEqual({ card: '[REDACTED:card_number]', amount: 12 });
    expect(redact({ at_ms: 4242424242424242 }, { enabled: true })).toEqual({ at_ms: 4242424242424242 });
  });

  it('masking redacts keys and masks e-mail addresses in them; a __proto__ key stays data', () => {
    const masked = maskValue(JSON.parse(`{"ana.private@example.com": "x", "${AWS_SECRET}": 1, "__proto__": {"polluted": true}}`)) as Record<string, unknown>;
    const json = JSON.stringify(masked);
    expect(json).not.toContain('ana.private');
    expect(json).not.toContain(AWS_SECRET);
    expect(json).toContain('[email@example.com]');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
  });

  it('walks any depth without overflowing the stack', () => {
    let deep: unknown = 'ghp_' + 'a'.repeat(36);
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(() => redact(deep)).not.toThrow();
    expect(() => maskValue(deep)).not.toThrow();
  });
});

const EMAIL = 'ana.private@example.com';

/** u_ana's execution with a credential or an address in every free-text metadata field and in keys. */
function leakyFleet() {
  return [
    ...smallFleet(),
    {
      execution_id: 'meta_leak',
      started_at: '2026-10-31T09:00:00Z',
      ended_at: '2026-10-31T09:00:01Z',
      status: 'failed',
      tool: { name: 'sync_opportunities', kind: 'workflow', server: 'sales-gateway' },
      user: { id: 'u_ana', team: 'revops' },
      agent: { client: 'claude-desktop', session_id: 's_meta', workflow_run_id: 'run_meta' },
      environment: 'prod',
      input: { card: 4242424242424242, note: `aws ${AWS_SECRET}`, [STRIPE]: 'key as a key', [EMAIL]: 'address as a key' },
      output: { text: `Authorization: Bearer ${BEARER}` },
      error: { type: `auth_failed_for_${EMAIL}`, layer: 'auth', message: `login https://svc:${URL_PASSWORD}@db.internal failed for ${EMAIL} with ${AWS_SECRET}` },
      custom_field: { [`${GOOGLE}`]: `password=${URL_PASSWORD}`, owner: EMAIL },
      steps: [
        {
          index: 0,
          name: `Lookup ${EMAIL} with Bearer ${BEARER}`,
          connector: `salesforce ${SLACK}`,
          operation: `query private_key_id: ${GCP_KEY_ID}`,
          status: 'failed',
          auth: { mode: 'user', identity: EMAIL },
          input: { q: AWS_SECRET },
          error: { type: 'auth_failed', layer: 'auth', message: `denied for ${EMAIL}: ${GITHUB_FINE}` },
        },
      ],
    },
  ];
}

const SECRETS = [AWS_SECRET, BEARER, URL_PASSWORD, STRIPE, SLACK, GCP_KEY_ID, GITHUB_FINE, GOOGLE, '4242424242424242'];

async function everyToolOutput(client: Awaited<ReturnType<typeof connect>>): Promise<string> {
  const outputs: string[] = [];
  for (const tool of TOOLS) {
    if (tool.name === 'unmask_execution') continue;
    const args = tool.name === 'trace_execution' ? { execution_id: 'meta_leak' } : tool.name === 'list_executions' ? { limit: 100 } : {};
    outputs.push(JSON.stringify(await call(client, tool.name, args)));
  }
  return outputs.join('\n');
}

describe('no secret or address leaves a tool through metadata', () => {
  it('another member sees no secret and no address in any field of any tool (trace, failures, list included)', async () => {
    const store = await fixtureStore(leakyFleet() as any);
    for (const caller of [BEN, ROOT]) {
      const all = await everyToolOutput(await connect(store, caller));
      for (const secret of [...SECRETS, EMAIL]) expect(all, `${caller.id}: ${secret}`).not.toContain(secret);
      // Still useful: the domain, and the error's shape.
      expect(all).toContain('"error_type":"[email@example.com]"');
    }
    const trace = await call(await connect(store, BEN), 'trace_execution', { execution_id: 'meta_leak' });
    expect(trace.structuredContent.steps[0].auth.identity).toBe('[email@example.com]');
    expect(trace.structuredContent.steps[0].name).toMatch(/^Lookup \[email@example\.com\] with Bearer \[REDACTED:credential\]$/);
  });

  it('the owner sees their own addresses, but still no secret: a card as a JSON number, an AWS secret and a Bearer value in free text', async () => {
    const store = await fixtureStore(leakyFleet() as any);
    const all = await everyToolOutput(await connect(store, ANA));
    for (const secret of SECRETS) expect(all, secret).not.toContain(secret);
    const trace = (await call(await connect(store, ANA), 'trace_execution', { execution_id: 'meta_leak' })).structuredContent;
    expect(trace.payloads).toBe('visible');
    expect(trace.execution.input.card).toBe('[REDACTED:card_number]');
    expect(trace.execution.input[EMAIL]).toBe('address as a key');
    expect(trace.steps[0].auth.identity).toBe(EMAIL);
  });

  it('filter suggestions pass the redactor and come from the filtered field only', async () => {
    const fleet = [
      ...smallFleet(),
      { ...smallFleet()[0], execution_id: 'env_leak', environment: `prod-${STRIPE}`, agent: { client: `client-${GOOGLE}` } },
    ];
    const store = await fixtureStore(fleet as any);
    const result = await call(await connect(store, BEN), 'usage_summary', { environment: 'prod-sk_live' });
    expect(result.isError).toBe(true);
    const message = text(result);
    expect(message).toMatch(/No environment is named "prod-sk_live"; closest: .*prod-\[REDACTED:stripe_key\]/);
    expect(message).not.toContain(STRIPE);
    expect(message).not.toContain('client-');
  });
});
