import { sqlTime } from '../../clock.js';

/**
 * The start of a time's hour, as DateTime64(6): toStartOfHour returns a 32-bit DateTime, which
 * wraps for the years before 1970 that the log format accepts (year 1 lands in 2042).
 */
export const hourOf = (column: string): string =>
  `fromUnixTimestamp64Micro(toUnixTimestamp64Micro(${column}) - positiveModulo(toUnixTimestamp64Micro(${column}), 3600000000), 'UTC')`;

/** The start of a time's UTC day, as DateTime64(6), for the same reason. */
export const dayOf = (column: string): string =>
  `fromUnixTimestamp64Micro(toUnixTimestamp64Micro(${column}) - positiveModulo(toUnixTimestamp64Micro(${column}), 86400000000), 'UTC')`;

const HOUR_US = 3_600_000_000n;

/** The start of the hour of a time given in microseconds since the epoch, as ClickHouse reads a DateTime64(6) (UTC). */
export function hourText(micros: bigint): string {
  const floored = micros - (((micros % HOUR_US) + HOUR_US) % HOUR_US);
  return sqlTime(new Date(Number(floored / 1000n)));
}
