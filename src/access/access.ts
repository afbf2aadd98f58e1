import type { ExecutionTrace } from '../analytics/trace.js';
import type { Caller } from './caller.js';
import { maskValue } from './masking.js';
import { redact, redactString } from './redact.js';

export interface AccessOptions {
  /** The secret redactor; on unless the operator turns it off. */
  redactSecrets: boolean;
}

/**
 * What one caller may see. Tools hand their results here and never decide visibility themselves:
 * payloads are shown only on the caller's own executions, error messages and everything else pass
 * the secret redactor.
 */
export class AccessView {
  constructor(
    readonly caller: Caller,
    private readonly options: AccessOptions = { redactSecrets: true },
  ) {}

  isAdmin(): boolean {
    return this.caller.role === 'admin';
  }

  ownsExecution(userId: string): boolean {
    return userId === this.caller.id;
  }

  /** A trace as this caller may see it: others' payloads masked, secrets redacted. */
  viewTrace(trace: ExecutionTrace): ExecutionTrace & { payloads: 'visible' | 'masked' } {
    const own = this.ownsExecution(trace.execution.user_id);
    const show = (value: unknown) => (own ? value : maskValue(value));
    const error = trace.execution.error && { ...trace.execution.error, message: this.text(trace.execution.error.message) };
    return {
      ...trace,
      payloads: own ? 'visible' : 'masked',
      execution: {
        ...trace.execution,
        error,
        input: show(trace.execution.input),
        output: show(trace.execution.output),
        attributes: own ? trace.execution.attributes : (maskValue(trace.execution.attributes) as Record<string, unknown> | null),
      },
      steps: trace.steps.map((step) => ({
        ...step,
        input: show(step.input),
        output: show(step.output),
        error: step.error && { ...step.error, message: this.text(step.error.message) },
      })),
    };
  }

  /** The last word on anything a tool returns (except an audited unmask). */
  protect<T>(value: T): T {
    return redact(value, { enabled: this.options.redactSecrets }) as T;
  }

  private text(value: string | null): string | null {
    return value === null || !this.options.redactSecrets ? value : redactString(value);
  }
}
