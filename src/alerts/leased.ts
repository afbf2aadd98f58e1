import type { Clock } from '../clock.js';
import { LeaseKeeper, type Lease } from '../store/lease.js';
import type { AlertStore } from './alert-store.js';
import type { Channel } from './channels.js';
import { Delivery } from './delivery.js';
import { AlertEngine } from './engine.js';

/**
 * Alerting on a store several instances share: the evaluation and the delivery of notifications
 * run on the one instance that holds the lease, and stop (storing and sending nothing more) as soon
 * as it no longer does; the others stand by. Call start() on the keeper returned.
 */
export function leasedAlerting(
  alerts: AlertStore,
  lease: Lease,
  options: { channels: ReadonlyMap<string, Channel>; clock: Clock; tz?: string; log?: (line: string) => void; intervalMs?: number },
): LeaseKeeper {
  const mayAct = () => lease.held();
  let running: { engine: AlertEngine; delivery: Delivery } | undefined;
  return new LeaseKeeper(lease, {
    start() {
      const delivery = new Delivery(alerts, options.channels, { log: options.log, mayAct });
      const engine = new AlertEngine(alerts, { clock: options.clock, tz: options.tz, log: options.log, mayAct, onQueued: () => delivery.kick() });
      running = { engine, delivery };
      delivery.start();
      engine.start(options.intervalMs);
    },
    async stop() {
      await running?.engine.stop();
      await running?.delivery.stop();
      running = undefined;
    },
  }, { log: options.log });
}
