import { CLIENTS, FAILURES, SAMPLE_ANCHOR, SAMPLE_SPIKE, TOOLS, USERS, type ToolTemplate } from './fleet.js';

/** A small seeded PRNG (mulberry32): the same seed gives the same fleet on every machine. */
export function randomSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[], weight: (item: T) => number): T {
  const total = items.reduce((sum, item) => sum + weight(item), 0);
  let r = random() * total;
  for (const item of items) {
    r -= weight(item);
    if (r <= 0) return item;
  }
  return items[items.length - 1]!;
}

export interface GenerateOptions {
  /** The end of the generated period; "now" in demos. */
  anchor?: string;
  days?: number;
  /** Mean executions on a weekday; weekends get a third. */
  perWeekday?: number;
  seed?: number;
  /** Plant the spike of SAMPLE_SPIKE (only if it falls inside the period). */
  spike?: boolean;
  /** Share of executions also logged first as `running` (delivery semantics). */
  runningFirstRate?: number;
  /** Share of lines repeated verbatim (retries, overlapping files). */
  repeatRate?: number;
  /** Share of lines that are malformed (quarantine). */
  badLineRate?: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Hour-of-day weights (UTC): a working day with a lunch dip and a quiet night. */
const HOURLY = [1, 1, 1, 1, 1, 2, 3, 6, 10, 12, 12, 10, 8, 11, 12, 11, 9, 7, 5, 3, 2, 2, 1, 1];

/**
 * Yields NDJSON lines of a fleet's executions in time order (then, for delivery realism, a few
 * repeats, running-then-final pairs and malformed lines). Deterministic for a given seed.
 */
export function* generateLines(options: GenerateOptions = {}): Generator<string> {
  const random = randomSource(options.seed ?? 7);
  const anchor = Date.parse(options.anchor ?? SAMPLE_ANCHOR);
  const days = options.days ?? 45;
  const perWeekday = options.perWeekday ?? 330;
  const start = anchor - days * DAY;
  let counter = 0;

  const emit = function* (line: string): Generator<string> {
    if (options.badLineRate && random() < options.badLineRate) yield malformed(random, line);
    yield line;
    if (options.repeatRate && random() < options.repeatRate) yield line;
  };

  for (let day = 0; day < days; day++) {
    const dayStart = start + day * DAY;
    const weekday = new Date(dayStart).getUTCDay();
    const volume = Math.round(perWeekday * (weekday === 0 || weekday === 6 ? 0.33 : 1) * (0.85 + random() * 0.3));
    const starts: number[] = [];
    for (let i = 0; i < volume; i++) {
      const hour = pick(random, HOURLY.map((w, h) => ({ w, h })), (x) => x.w).h;
      starts.push(dayStart + hour * HOUR + Math.floor(random() * HOUR));
    }
    if (options.spike !== false) {
      const spikeFrom = Date.parse(SAMPLE_SPIKE.from);
      if (spikeFrom >= dayStart && spikeFrom < dayStart + DAY) {
        const span = Date.parse(SAMPLE_SPIKE.to) - spikeFrom;
        for (let i = 0; i < SAMPLE_SPIKE.executions; i++) starts.push(-(spikeFrom + Math.floor(random() * span)));
      }
    }
    starts.sort((a, b) => Math.abs(a) - Math.abs(b));
    for (const signed of starts) {
      const isSpike = signed < 0;
      const at = Math.abs(signed);
      const daysAgo = (anchor - at) / DAY;
      const record = isSpike ? spikeExecution(random, at, ++counter) : execution(random, at, daysAgo, ++counter);
      if (!record) continue;
      const final = JSON.stringify(record);
      if (options.runningFirstRate && random() < options.runningFirstRate) {
        const running = { ...record, status: 'running', ended_at: undefined, duration_ms: undefined, output: undefined, error: undefined, steps: undefined };
        yield* emit(JSON.stringify(running));
      }
      yield* emit(final);
    }
  }
}

type Json = Record<string, unknown>;

function execution(random: () => number, at: number, daysAgo: number, n: number): Json | undefined {
  const tool = pick(random, TOOLS, (t) => (t.retiredDaysAgo !== undefined && daysAgo < t.retiredDaysAgo ? 0 : t.weight));
  const candidates = USERS.filter((u) => tool.teams.includes(u.team) && u.id !== 'u_dev_bot');
  const user = pick(random, candidates.length ? candidates : USERS, (u) => u.activity);
  const client = pick(random, CLIENTS, (c) => c.weight).name;
  return build(random, tool, user, client, at, n, 'prod');
}

function spikeExecution(random: () => number, at: number, n: number): Json {
  const tool = TOOLS.find((t) => t.name === SAMPLE_SPIKE.tool)!;
  const user = USERS.find((u) => u.id === SAMPLE_SPIKE.user)!;
  return build(random, tool, user, 'ops-agent', at, n, 'prod', { runId: `run_bot_${Math.floor(at / (10 * 60_000))}`, failureBoost: 0.1 });
}

function build(
  random: () => number,
  tool: ToolTemplate,
  user: (typeof USERS)[number],
  client: string,
  at: number,
  n: number,
  environment: string,
  extra: { runId?: string; failureBoost?: number } = {},
): Json {
  const id = `ex_${n.toString(36).padStart(6, '0')}${Math.floor(random() * 1296).toString(36).padStart(2, '0')}`;
  const session = `s_${user.id.slice(2)}_${Math.floor(at / (2 * HOUR)).toString(36)}`;
  const duration = Math.max(20, Math.round(tool.meanMs * (0.3 + random() * 1.6)));
  const roll = random();
  const failureRate = tool.failureRate + (extra.failureBoost ?? 0) + 0.01;
  let status: string = roll < failureRate ? 'failed' : roll < failureRate + 0.012 ? 'stopped' : 'succeeded';
  const failure = status === 'failed' ? pick(random, FAILURES, (f) => f.weight) : undefined;
  if (failure?.status) status = failure.status;
  const record: Json = {
    execution_id: id,
    started_at: new Date(at).toISOString(),
    ended_at: new Date(at + duration).toISOString(),
    status,
    tool: { name: tool.name, kind: tool.kind, server: tool.server },
    user: { id: user.id, email: `${user.id.slice(2).replace('_', '.')}@example.com`, name: user.name, team: user.team },
    agent: {
      client,
      session_id: session,
      ...(extra.runId || random() < 0.3 ? { workflow_run_id: extra.runId ?? `run_${session}_${Math.floor(random() * 3)}` } : {}),
    },
    environment,
    input: inputFor(random, tool, user),
  };
  if (status === 'succeeded') record.output = { ok: true, items: Math.floor(random() * 40), summary: `Done by ${tool.name}` };
  if (tool.costUsd) record.cost_usd = Math.round(tool.costUsd * (0.5 + random()) * 10000) / 10000;
  if (failure) record.error = { type: failure.type, message: failure.message, layer: failure.layer };
  if (tool.steps) {
    // A failed workflow fails at one step; the steps after it never run.
    const failAt = failure ? Math.floor(random() * tool.steps.length) : -1;
    let t = at;
    const steps: Json[] = [];
    for (const [index, step] of tool.steps.entries()) {
      if (failAt !== -1 && index > failAt) break;
      const stepMs = Math.round(duration / tool.steps.length);
      const stepStatus = index === failAt ? status : 'succeeded';
      steps.push({
        index,
        name: step.name,
        connector: step.connector,
        operation: step.operation,
        status: stepStatus,
        started_at: new Date(t).toISOString(),
        ended_at: new Date(t + stepMs).toISOString(),
        tasks: step.tasks,
        auth: { mode: step.auth, identity: step.auth === 'user' ? user.id : step.auth === 'service' ? `svc_${step.connector}` : undefined },
        input: { connector: step.connector, operation: step.operation },
        ...(index === failAt && failure ? { error: { type: failure.type, message: failure.message, layer: failure.layer } } : {}),
      });
      t += stepMs;
    }
    record.steps = steps;
    record.tasks = steps.reduce((sum, s) => sum + (s.tasks as number), 0);
  }
  return record;
}

function inputFor(random: () => number, tool: ToolTemplate, user: (typeof USERS)[number]): Json {
  const accounts = ['ACME Corp', 'Globex', 'Initech', 'Umbrella', 'Stark Industries', 'Wayne Enterprises'];
  const account = accounts[Math.floor(random() * accounts.length)]!;
  switch (tool.connector ?? tool.name) {
    case 'salesforce':
      return { soql: `SELECT Id, Amount FROM Opportunity WHERE Account.Name = '${account}'` };
    case 'github':
      return { repo: 'acme/platform', query: ['retry policy', 'flaky test', 'auth middleware', 'rate limiter'][Math.floor(random() * 4)] };
    case 'slack':
      return { channel: '#ops', text: `Update for ${account}` };
    case 'snowflake':
    case 'postgres':
      return { sql: `select count(*) from orders where customer = '${account}'` };
    case 'hubspot':
      return { email: `contact@${account.toLowerCase().replace(/[^a-z]/g, '')}.com`, owner: user.id };
    default:
      return { account, requested_by: user.id };
  }
}

/** A plausible broken line: truncated JSON, a missing field, a wrong type, a bad timestamp. */
function malformed(random: () => number, line: string): string {
  const record = JSON.parse(line) as Json;
  switch (Math.floor(random() * 4)) {
    case 0:
      return line.slice(0, Math.floor(line.length / 2));
    case 1:
      delete record.user;
      return JSON.stringify({ ...record, execution_id: `${record.execution_id}_bad` });
    case 2:
      return JSON.stringify({ ...record, execution_id: `${record.execution_id}_bad`, status: 'done' });
    default:
      return JSON.stringify({ ...record, execution_id: `${record.execution_id}_bad`, started_at: '02/11/2026 09:14' });
  }
}
