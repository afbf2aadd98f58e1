import { alertSignalQueriesOn } from '../../src/analytics/duckdb/alert-signals.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backtestRule } from '../../src/alerts/backtest.js';
import { loadAlertsFile } from '../../src/alerts/manage.js';
import { loadExportFile } from '../../src/export/exporter.js';
import { ingestFiles } from '../../src/ingest/files.js';
import { openTestStore } from '../helpers.js';

describe('the example configuration files', () => {
  it('examples/alerts.yaml parses, and each of its rules runs on the sample fleet; examples/export.yaml parses', async () => {
    const alerts = loadAlertsFile(join(process.cwd(), 'examples/alerts.yaml'), { ONCALL_URL: 'https://example.com/hook', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x' });
    expect([...alerts.channels.keys()]).toEqual(['oncall', 'team-chat']);
    expect(new Set(alerts.rules.map((r) => r.kind)).size).toBe(10);
    const store = await openTestStore('2026-11-01T00:00:00Z');
    await ingestFiles(store, [join(process.cwd(), 'sample-logs')]);
    const fired: Record<string, number> = {};
    for (const rule of alerts.rules) {
      const report = await store.read((db) => backtestRule(alertSignalQueriesOn(db), rule, { from: new Date('2026-10-02T00:00:00Z'), to: new Date('2026-11-01T00:00:00Z') }));
      fired[rule.name] = report.firings;
    }
    // The sample fleet's runaway bot (Tuesday 2026-10-27, 14:00-16:00) is what the spike rule is for.
    expect(fired['fleet-spike']).toBeGreaterThanOrEqual(1);
    const sinks = loadExportFile(join(process.cwd(), 'examples/export.yaml'), { HEC_TOKEN: 'x' });
    expect([...sinks].map(([name, s]) => [name, s.type])).toEqual([['siem', 'syslog'], ['splunk', 'hec'], ['otel', 'otlp_logs'], ['shipper', 'file']]);
  });
});
