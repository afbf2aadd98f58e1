import type { Coverage, StoreExtent } from './coverage.js';
import type { CatalogQueries } from './catalog.js';
import type { MetricsUsage } from './metrics-usage.js';
import type { MyFailuresQueries } from './my-failures.js';
import type { Filters } from './filters.js';
import type { CostQueries } from './cost.js';
import type { TimeRange } from './time-range.js';
import type { UsageQueries } from './usage.js';
import type { ExecutionQueries } from './executions.js';
import type { ToolUsageQueries } from './tool-usage.js';
import type { TraceQueries } from './trace.js';
import type { SpikeQueries } from './spike.js';
import type { FailureQueries } from './failures.js';
import type { UnusedQueries } from './unused.js';
import type { AlertSignalQueries } from './alert-signals.js';

/**
 * What the analytics functions ask of a storage engine, one group of queries per question. Each
 * engine answers with its own SQL (duckdb/, clickhouse/) and plain rows; the answers are shaped
 * from those rows by the same JavaScript (usage.ts, cost.ts, ...), so the engines can differ in
 * how they count and never in what the tools say.
 */
export interface AnalyticsBackend {
  readonly engine: 'duckdb' | 'clickhouse';
  /** What the store holds in all, and whether `range` holds any execution (before filters). */
  coverage(range: TimeRange): Promise<Coverage>;
  /** What the store holds in all. */
  extent(): Promise<StoreExtent>;
  /** What OTLP metrics say about the range (metricsUsage), null when they say nothing. */
  metricsUsage(range: TimeRange, filters: Filters): Promise<MetricsUsage | null>;
  usage: UsageQueries;
  cost: CostQueries;
  toolUsage: ToolUsageQueries;
  executions: ExecutionQueries;
  trace: TraceQueries;
  spike: SpikeQueries;
  failures: FailureQueries;
  unused: UnusedQueries;
  catalog: CatalogQueries;
  myFailures: MyFailuresQueries;
  /** What alert rules watch: live evaluation and backtests. */
  alertSignals: AlertSignalQueries;
}
