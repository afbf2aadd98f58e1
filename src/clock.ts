import { UserInputError } from './errors.js';

/** "Now" is injected everywhere so that tests and demos can pin it (`--now`). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function fixedClock(at: Date): Clock {
  return { now: () => new Date(at.getTime()) };
}

const RFC3339_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp that carries a zone; anything else is a UserInputError. */
export function parseInstant(value: string, what: string): Date {
  if (!RFC3339_WITH_ZONE.test(value)) {
    throw new UserInputError(
      `${what} must be an RFC 3339 timestamp with a zone, like 2026-11-02T09:14:03Z; got ${JSON.stringify(value)}`,
    );
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new UserInputError(`${what} is not a real date: ${JSON.stringify(value)}`);
  }
  return date;
}

/**
 * The text DuckDB reads as a UTC `TIMESTAMP`, from a Date or from an RFC 3339 UTC string as the
 * store writes them (`iso()`, toISOString).
 */
export function sqlTime(value: Date | string): string {
  return (typeof value === 'string' ? value : value.toISOString()).replace('T', ' ').replace('Z', '');
}

export function clockFrom(pinned: string | undefined): Clock {
  return pinned ? fixedClock(parseInstant(pinned, '--now')) : systemClock;
}
