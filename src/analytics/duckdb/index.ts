import type { Reader } from '../../store/store.js';
import type { AnalyticsBackend } from '../backend.js';
import { storeCoverage } from '../coverage.js';
import { duckdbCostQueries } from './cost.js';
import { duckdbExecutionQueries } from './executions.js';
import { duckdbToolUsageQueries } from './tool-usage.js';
import { duckdbTraceQueries } from './trace.js';
import { duckdbSpikeQueries } from './spike.js';
import { duckdbUsageQueries } from './usage.js';

/** The analytics of a DuckDB store: each query on a read connection of its own, side by side. */
export function duckdbAnalytics(read: Reader): AnalyticsBackend {
  return {
    engine: 'duckdb',
    coverage: (range) => read((db) => storeCoverage(db, range)),
    usage: duckdbUsageQueries(read),
    cost: duckdbCostQueries(read),
    toolUsage: duckdbToolUsageQueries(read),
    executions: duckdbExecutionQueries(read),
    trace: duckdbTraceQueries(read),
    spike: duckdbSpikeQueries(read),
  };
}
