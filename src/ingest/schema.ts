import { z, type ZodTypeAny } from 'zod';
import { isRfc3339WithZone, RFC3339_WITH_ZONE_PATTERN } from './format.js';
import { childRules, EXECUTION_RULES, STEP_RULES, type FieldRule } from './rules.js';

/**
 * The log format as a zod schema, generated from the rules (rules.ts): the readable contract for
 * tests and tools that want one. Ingest does not run zod per line (it allocates an error tree per
 * record); the conformance test checks that this schema and the compiled validator agree.
 */
function fieldSchema(rule: FieldRule, rules: readonly FieldRule[], fullName: string): ZodTypeAny {
  switch (rule.kind) {
    case 'string':
      return rule.maxLength === undefined ? z.string() : z.string().min(1).max(rule.maxLength);
    case 'enum':
      return z.enum(rule.values as [string, ...string[]]);
    case 'timestamp':
      return z.string().regex(new RegExp(RFC3339_WITH_ZONE_PATTERN), 'RFC 3339 timestamp with zone').refine(isRfc3339WithZone, 'not a real date and time');
    case 'number':
      return rule.max === undefined ? z.number().finite().min(0) : z.number().finite().min(0).max(rule.max);
    case 'integer':
      return rule.max === undefined ? z.number().int().min(0) : z.number().int().min(0).max(rule.max);
    case 'boolean':
      return z.boolean();
    case 'json':
      return z.unknown();
    case 'object':
      return objectSchema(rules, fullName);
    case 'array':
      // The one list of the format: an execution's steps.
      return z.array(objectSchema(STEP_RULES, ''));
  }
}

function objectSchema(rules: readonly FieldRule[], parent: string): z.ZodObject<z.ZodRawShape> {
  const shape: z.ZodRawShape = {};
  for (const rule of childRules(rules, parent)) {
    const full = parent === '' ? rule.name : `${parent}.${rule.name}`;
    const schema = fieldSchema(rule, rules, full);
    shape[rule.name] = rule.kind === 'json' ? schema.optional() : rule.required ? schema : schema.nullish();
  }
  // An object that holds a required field is itself required (tool, user).
  return z.object(shape).passthrough();
}

export const stepSchema = objectSchema(STEP_RULES, '');
export const executionSchema = (() => {
  const top = objectSchema(EXECUTION_RULES, '');
  // tool and user carry required fields: the objects are required too.
  const required = EXECUTION_RULES.filter((r) => r.kind === 'object' && EXECUTION_RULES.some((c) => c.required && c.name.startsWith(`${r.name}.`))).map((r) => r.name);
  return top.extend(Object.fromEntries(required.map((name) => [name, objectSchema(EXECUTION_RULES, name)])));
})();
