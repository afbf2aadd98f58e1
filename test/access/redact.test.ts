import { describe, expect, it } from 'vitest';
import { maskValue } from '../../src/access/masking.js';
import { luhnValid, redact, redactString } from '../../src/access/redact.js';

describe('secret redactor', () => {
  it('redacts known secret shapes and Luhn-valid card numbers, keeps Luhn-invalid ones', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1X2FuYSJ9.c2lnbmF0dXJlLXZhbHVl';
    const text = `aws AKIAIOSFODNN7EXAMPLE gh ghp_${'a'.repeat(36)} pat github_pat_${'B'.repeat(30)} slack xoxb-1234567890-abcdef stripe sk_live_${'x'.repeat(24)} hook whsec_${'y'.repeat(20)} jwt ${jwt} card 4111 1111 1111 1111 not-card 4111111111111112`;
    const out = redactString(text);
    for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'ghp_', 'github_pat_', 'xoxb-', 'sk_live_', 'whsec_', jwt, '4111 1111 1111 1111']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('4111111111111112');
    expect(out).toContain('[REDACTED:card_number]');
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
  });

  it('redacts PEM private keys and values under sensitive key names, at any depth', () => {
    const value = {
      config: { db_password: 'hunter2', x_api_key: 'k-123', secret_token: 'abc', Authorization: 'Bearer x', cookie: 'sid=1', retries: 3 },
      key: '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----',
      list: [{ token: 'zzz' }],
    };
    expect(redact(value)).toEqual({
      config: {
        db_password: '[REDACTED:db_password]',
        x_api_key: '[REDACTED:x_api_key]',
        secret_token: '[REDACTED:secret_token]',
        Authorization: '[REDACTED:Authorization]',
        cookie: '[REDACTED:cookie]',
        retries: 3,
      },
      key: '[REDACTED:private_key]',
      list: [{ token: '[REDACTED:token]' }],
    });
    expect(redact(value, { enabled: false })).toEqual(value);
  });
});

describe('masking', () => {
  it('keeps shape and key names, replaces values with type and rough size', () => {
    expect(maskValue({ account: 'ACME', email: 'someone@example.com', n: 5, ok: true, tags: ['a', 'bb'], nested: { none: null } })).toEqual({
      account: '<masked string, 4 chars>',
      email: '<masked string, ~20 chars>',
      n: '<masked number>',
      ok: '<masked boolean>',
      tags: ['<masked string, 1 chars>', '<masked string, 2 chars>'],
      nested: { none: null },
    });
  });
});

describe('operator files', () => {
  it('an invalid access file is refused with the place and an example', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tempDir } = await import('../helpers.js');
    const { AccessList } = await import('../../src/access/access-file.js');
    const dir = tempDir();
    const path = join(dir, 'access.json');
    writeFileSync(path, JSON.stringify({ users: [{ id: 'u_root', role: 'superuser' }] }));
    expect(() => AccessList.load(path)).toThrow(/access file .* is invalid at users\.0\.role: .*Expected \{"users"/);
    writeFileSync(path, '{not json');
    expect(() => AccessList.load(path)).toThrow(/Cannot read the access file/);
    writeFileSync(path, JSON.stringify({ users: [{ id: 'u_root', role: 'admin', token_sha256: 'abc' }] }));
    expect(() => AccessList.load(path)).toThrow(/token_sha256: must be 64 hex characters/);
  });
});
