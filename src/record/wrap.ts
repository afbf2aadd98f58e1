import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { constants } from 'node:os';
import { Recorder, type RecorderOptions } from './recorder.js';
import { Shipper, type ShipperOptions } from './shipper.js';

export interface WrapOptions {
  command: string;
  args: string[];
  recorder: Omit<RecorderOptions, 'now'>;
  shipper: ShipperOptions;
  /**
   * Adds the recorded execution id to the `_meta` of a tool result with `isError: true`
   * (`mcp-blackbox/execution_id`), so an agent can trace exactly the call that failed. The one
   * change wrap ever makes to the traffic, so off unless asked for.
   */
  annotateErrors?: boolean;
  /** The client side; process.stdin / process.stdout in the CLI. */
  input: Readable;
  output: Writable;
  log: (line: string) => void;
}

/**
 * Runs an MCP stdio server as a child and sits between it and the client that launched us. Both
 * directions are forwarded as the bytes arrived, in order, before anything else is done with
 * them; a copy of each line goes to the recorder. stderr is the child's own. So a message the
 * recorder cannot read, or a recording failure, costs a record, never the session.
 *
 * Resolves with the exit code to exit with: the child's, or 128 + the signal that ended it.
 */
export function wrap(options: WrapOptions): Promise<number> {
  const shipper = new Shipper(options.shipper);
  const recorder = new Recorder(options.recorder, (record) => shipper.push(record));
  const child = spawn(options.command, options.args, { stdio: ['pipe', 'pipe', 'inherit'] });

  const observe = (side: 'client' | 'server') => lineSplitter((line) => {
    try {
      const message: unknown = JSON.parse(line);
      if (side === 'client') recorder.fromClient(message);
      else recorder.fromServer(message);
    } catch {
      // Not JSON (a server that logs to stdout): forwarded anyway, nothing to record.
    }
  });
  const fromClient = observe('client');
  const fromServer = observe('server');

  options.input.on('data', (chunk: Buffer) => {
    if (child.stdin.writable) child.stdin.write(chunk);
    fromClient(chunk);
  });
  if (options.annotateErrors) {
    // Line by line, so that a result can be rewritten; every other line goes out as its bytes.
    const lines = lineSplitter((line) => {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        options.output.write(`${line}\n`);
        return;
      }
      options.output.write(`${annotated(line, message, recorder) ?? line}\n`);
      recorder.fromServer(message);
    }, { keepBlank: true });
    child.stdout.on('data', lines);
    // What the server wrote last without a newline still reaches the client, as it would unwrapped.
    child.stdout.on('end', () => {
      const rest = lines.rest();
      if (rest.length) options.output.write(rest);
    });
  } else {
    child.stdout.on('data', (chunk: Buffer) => {
      options.output.write(chunk);
      fromServer(chunk);
    });
  }
  // A client that goes away closes our stdin: the server's stdin is closed the same way, and if
  // it does not exit on that (many do not), it is asked to, then made to.
  options.input.on('end', () => {
    child.stdin.end();
    const term = setTimeout(() => child.kill('SIGTERM'), 2_000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    term.unref();
    kill.unref();
  });
  child.stdin.on('error', () => undefined); // EPIPE after the child exited: its exit is handled below
  options.output.on('error', () => undefined);

  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);

  return new Promise((resolve) => {
    let started = true;
    child.on('error', (error) => {
      // The command could not be started at all (not found, not executable).
      started = false;
      options.log(`wrap: cannot start ${options.command}: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      for (const [name, handler] of handlers) process.off(name, handler);
      const why = signal ? `the server was ended by ${signal}` : `the server exited with code ${code}`;
      recorder.terminateAll(`${why} while the call was outstanding`);
      const exitCode = !started ? 127 : signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 0);
      void shipper.close().finally(() => resolve(exitCode));
    });
  });
}

/** The line with the execution id in the `_meta` of an error result, or undefined to send it as it came. */
function annotated(line: string, message: unknown, recorder: Recorder): string | undefined {
  if (!line.includes('isError') || typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const response = message as { id?: unknown; result?: { isError?: unknown; _meta?: Record<string, unknown> } };
  if (response.result?.isError !== true) return undefined;
  const executionId = recorder.pendingExecutionId(response.id);
  if (!executionId) return undefined;
  return JSON.stringify({ ...response, result: { ...response.result, _meta: { ...response.result._meta, [EXECUTION_ID_META]: executionId } } });
}

/** Where --annotate-errors puts the execution id in an error result. */
export const EXECUTION_ID_META = 'mcp-blackbox/execution_id';

/**
 * Calls `onLine` with each complete line of a byte stream (the stdio transport is one JSON message
 * per line); `rest()` gives the bytes after the last newline.
 */
function lineSplitter(onLine: (line: string) => void, options: { keepBlank?: boolean } = {}): ((chunk: Buffer) => void) & { rest: () => Buffer } {
  let pending: Buffer[] = [];
  const split = (chunk: Buffer) => {
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, i);
      const line = pending.length ? Buffer.concat([...pending, piece]).toString('utf8') : piece.toString('utf8');
      pending = [];
      if (options.keepBlank || line.trim()) onLine(line);
      start = i + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  };
  return Object.assign(split, { rest: () => Buffer.concat(pending) });
}
