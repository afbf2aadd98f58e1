import type { ExecutionSummary } from '../analytics/executions.js';
import type { FailureGroup } from '../analytics/failures.js';
import type { ExecutionTrace } from '../analytics/trace.js';
import type { Caller } from './caller.js';
import { maskValue } from './masking.js';
import { redact, redactText } from './redact.js';

export interface AccessOptions {
  /** The secret redactor; on unless the operator turns it off. */
  redactSecrets: boolean;
}

type ErrorFields = { type: string | null; layer: string | null; message: string | null } | null;

/**
 * What one caller may see. Tools hand their results here and never decide visibility themselves:
 * payloads are shown only on the caller's own executions; the free text that sources write into
 * metadata (error type and message, step names, connectors, operations, auth identities,
 * attributes) has e-mail addresses masked on anyone else's; and everything passes the secret
 * redactor, the caller's own data included.
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
    const text = (value: string | null) => this.freeText(value, own);
    const show = (value: unknown) => (own ? this.payload(value) : maskValue(value));
    const error = (e: ErrorFields): ErrorFields => e && { type: text(e.type), layer: e.layer, message: text(e.message) };
    return {
      ...trace,
      payloads: own ? 'visible' : 'masked',
      execution: {
        ...this.viewSummary(trace.execution),
        user_email: trace.execution.user_email,
        user_name: trace.execution.user_name,
        error: error(trace.execution.error),
        input: show(trace.execution.input),
        output: show(trace.execution.output),
        attributes: show(trace.execution.attributes) as Record<string, unknown> | null,
        source: trace.execution.source,
      },
      steps: trace.steps.map((step) => ({
        ...step,
        name: text(step.name) ?? '',
        connector: text(step.connector),
        operation: text(step.operation),
        auth: { mode: step.auth.mode, identity: text(step.auth.identity) },
        input: show(step.input),
        output: show(step.output),
        error: error(step.error),
      })),
      related: {
        ...trace.related,
        same_workflow_run: trace.related.same_workflow_run.map((e) => this.viewSummary(e)),
        same_session: trace.related.same_session.map((e) => this.viewSummary(e)),
      },
    };
  }

  /** One execution's metadata: its error type is source text, so others' addresses are masked. */
  viewSummary<T extends ExecutionSummary>(summary: T): T {
    return { ...summary, error_type: this.freeText(summary.error_type, this.ownsExecution(summary.user_id)) };
  }

  /** Failure groups span users: their source text is never the caller's alone. */
  viewFailureGroup<T extends Pick<FailureGroup, 'error_type' | 'connector'>>(group: T): T {
    return { ...group, error_type: this.aggregateText(group.error_type), connector: this.aggregateText(group.connector) };
  }

  /** Source text counted over many users' executions (an error type, a connector): others' addresses masked. */
  aggregateText(value: string | null): string | null {
    return this.freeText(value, false);
  }

  /** The last word on anything a tool returns (except an audited unmask): every string and key. */
  protect<T>(value: T): T {
    return redact(value, { enabled: this.options.redactSecrets }) as T;
  }

  /** Text a tool shows that did not come from its own result (an error message, say). */
  protectText(text: string): string {
    return this.options.redactSecrets ? redactText(text) : text;
  }

  /** The caller's own payload: shown, but secrets redacted, numbers included (a card stored as a number). */
  private payload(value: unknown): unknown {
    return redact(value, { enabled: this.options.redactSecrets, numbers: true });
  }

  private freeText(value: string | null, own: boolean): string | null {
    if (value === null) return null;
    return own ? (this.options.redactSecrets ? redactText(value) : value) : redactText(value, { emails: true });
  }
}
