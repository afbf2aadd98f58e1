import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { UserInputError } from './errors.js';

/**
 * Reads a JSON file the operator wrote (access file, catalog file) and checks it against its
 * schema; any problem is a UserInputError that names the file, the place and, when given, an
 * example of what was expected.
 */
export function readJsonFile<S extends z.ZodTypeAny>(path: string, schema: S, what: string, example?: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserInputError(`Cannot read the ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserInputError(
      `The ${what} ${path} is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}.${example ? ` Expected ${example}.` : ''}`,
    );
  }
  return parsed.data;
}
