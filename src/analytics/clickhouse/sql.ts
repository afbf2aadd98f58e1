import type { ClickHouseDb } from '../../store/clickhouse/client.js';
import { FILTER_COLUMNS, type Filters } from '../filters.js';
import { sqlTime, type Bucket, type TimeRange } from '../time-range.js';

/**
 * A ClickHouse query's typed parameters ({name:Type}): values never enter the SQL text. Aliases
 * in these queries never reuse a column's name: with prefer_column_name_to_alias (client.ts) the
 * column would win, inside and outside aggregates alike.
 */
export class ChQuery {
  readonly params: Record<string, unknown> = {};
  private next = 0;

  constructor(readonly ch: ClickHouseDb) {}

  value(value: unknown, type: string): string {
    const name = `p${this.next++}`;
    this.params[name] = value;
    return `{${name}:${type}}`;
  }

  time(at: Date): string {
    return this.value(sqlTime(at), "DateTime64(6, 'UTC')");
  }

  /** started_at within the half-open range. */
  range(range: TimeRange): string {
    return `started_at >= ${this.time(range.from)} AND started_at < ${this.time(range.to)}`;
  }

  /** One condition per filter given, on the columns of executions. */
  filters(filters: Filters): string {
    const parts: string[] = [];
    for (const [key, column] of Object.entries(FILTER_COLUMNS) as Array<[keyof Filters, string]>) {
      const value = filters[key];
      if (value === undefined) continue;
      parts.push(`${column} = ${this.value(value, key === 'via_mcp' ? 'Bool' : 'String')}`);
    }
    return parts.map((p) => ` AND ${p}`).join('');
  }

  /** The executions of a range and filters, each execution once (its highest version). */
  executions(range: TimeRange, filters: Filters): string {
    return `${this.ch.t('executions')} FINAL WHERE ${this.range(range)}${this.filters(filters)}`;
  }

  all<T>(sql: string): Promise<T[]> {
    return this.ch.all<T>(sql, this.params);
  }

  async one<T>(sql: string): Promise<T | undefined> {
    return (await this.all<T>(sql))[0];
  }
}

/** Every time an RFC 3339 timestamp can name (ClickHouse 26.7's DateTime64 holds them all), for questions over all of the history. */
export const ALL_TIME: TimeRange = { from: new Date('0001-01-01T00:00:00Z'), to: new Date('9999-12-31T23:00:00Z') };

/** The start of a usage row's bucket (from its `hour`), UTC, weeks from Monday: the keys bucketStarts lists. */
export const BUCKET_START_SQL: Record<Bucket, string> = {
  hour: 'toStartOfHour(hour)',
  day: 'toDateTime(toDate(hour))',
  week: 'toDateTime(toMonday(hour))',
  month: 'toDateTime(toStartOfMonth(hour))',
};

/** A time ClickHouse returned as microseconds since the epoch, as the answers write times (RFC 3339 UTC, milliseconds). */
export function isoFromMicros(micros: number | string | null): string | null {
  if (micros === null) return null;
  return new Date(Math.floor(Number(micros) / 1000)).toISOString();
}
