import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStoreLocation, parseStoreLocation } from '../../src/store/store-url.js';

describe('--store locations', () => {
  it('a path is a DuckDB file; clickhouse:// a server with its user, database and port; chdb: a data directory', () => {
    expect(parseStoreLocation('blackbox.duckdb')).toEqual({ engine: 'duckdb', path: resolve('blackbox.duckdb') });
    expect(parseStoreLocation('duckdb::memory:')).toEqual({ engine: 'duckdb', path: ':memory:' });
    expect(parseStoreLocation('clickhouse://bb:s%40cret@ch.internal:8123/fleet')).toEqual({
      engine: 'clickhouse', url: 'http://ch.internal:8123', username: 'bb', password: 's@cret', database: 'fleet',
    });
    expect(parseStoreLocation('clickhouses://ch.example.com/fleet?cluster=main')).toEqual({
      engine: 'clickhouse', url: 'https://ch.example.com:8443', username: 'default', password: '', database: 'fleet', cluster: 'main',
    });
    expect(parseStoreLocation('clickhouse://ch:9000')).toMatchObject({ url: 'http://ch:9000', database: 'mcp_blackbox' });
    expect(parseStoreLocation('chdb:./data/ch/fleet')).toEqual({ engine: 'chdb', path: resolve('data/ch'), database: 'fleet' });
  });

  it('a bad location says what to write, and never prints the password', () => {
    const message = (text: string) => {
      try {
        parseStoreLocation(text);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${text} was accepted`);
    };
    expect(message('clickhouse://u:hunter2@h/db-name')).toMatch(/database "db-name" is not a plain name/);
    expect(message('clickhouse://u:hunter2@h/db-name')).not.toContain('hunter2');
    expect(message('clickhouse://u:hunter2@h/db?secure=1')).toMatch(/unknown option "secure"/);
    expect(message('clickhouse://u:hunter2@h/db?cluster=a;DROP')).toMatch(/not a plain name/);
    expect(message('postgres://u:hunter2@h/db')).toMatch(/unknown scheme "postgres:".*clickhouse:\/\//);
    expect(message('postgres://u:hunter2@h/db')).not.toContain('hunter2');
    expect(message('  ')).toMatch(/empty/);
    expect(describeStoreLocation(parseStoreLocation('clickhouse://bb:hunter2@ch:8123/fleet'))).toBe('clickhouse://ch:8123/fleet (user bb)');
  });
});
