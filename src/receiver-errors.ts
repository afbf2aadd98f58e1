/**
 * What went wrong talking to a receiver (an alert channel, an export sink), said once for both:
 * the kind of failure and the system's code, never the receiver's URL (it can hold a token) nor
 * the raw text of Node's errors.
 */
export function describeReceiverFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === 'string') return `could not connect (${code})`;
  return error instanceof Error ? error.message : String(error);
}
