import type { Reader } from '../../store/store.js';
import type { AnalyticsBackend } from '../backend.js';
import { storeCoverage, storeExtent } from './coverage.js';
import { metricsUsage } from './metrics-usage.js';
import { duckdbCatalogQueries } from './catalog.js';
import { duckdbMyFailuresQueries } from './my-failures.js';
import { duckdbCostQueries } from './cost.js';
import { duckdbExecutionQueries } from './executions.js';
import { duckdbToolUsageQueries } from './tool-usage.js';
import { duckdbTraceQueries } from './trace.js';
import { duckdbSpikeQueries } from './spike.js';
import { duckdbFailureQueries } from './failures.js';
import { duckdbUnusedQueries } from './unused.js';
import { duckdbUsageQueries } from './usage.js';
import { duckdbAlertSignalQueries } from './alert-signals.js';

/** The analytics of a DuckDB store: each query on a read connection of its own, side by side. */
export function duckdbAnalytics(read: Reader): AnalyticsBackend {
  return {
    engine: 'duckdb',
    coverage: (range) => read((db) => storeCoverage(db, range)),
    extent: () => read((db) => storeExtent(db)),
    metricsUsage: (range, filters) => read((db) => metricsUsage(db, { range, filters })),
    usage: duckdbUsageQueries(read),
    cost: duckdbCostQueries(read),
    toolUsage: duckdbToolUsageQueries(read),
    executions: duckdbExecutionQueries(read),
    trace: duckdbTraceQueries(read),
    spike: duckdbSpikeQueries(read),
    failures: duckdbFailureQueries(read),
    unused: duckdbUnusedQueries(read),
    catalog: duckdbCatalogQueries(read),
    myFailures: duckdbMyFailuresQueries(read),
    alertSignals: duckdbAlertSignalQueries(read),
  };
}
