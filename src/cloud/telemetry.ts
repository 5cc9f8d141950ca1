// The hub's metrics (nbwss_hub_*), in the application's prom-client registry when it gives
// one; without it, calls that do nothing.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RequestOutcome = 'answered' | 'bridge_error' | 'timeout' | 'offline' | 'full' | 'closed';
export type ConnectOutcome = 'accepted' | 'token' | 'bound' | 'timeout';
export type NotificationOutcome = 'handled' | 'repeat' | 'failed';

export interface HubTelemetry {
  connect(outcome: ConnectOutcome): void;
  request(outcome: RequestOutcome, seconds?: number): void;
  notification(outcome: NotificationOutcome): void;
}

export const NO_TELEMETRY: HubTelemetry = { connect() {}, request() {}, notification() {} };

/** Registers the hub's metrics; `agents` and `inFlight` are read when scraped. */
export function hubTelemetry(registry: Registry, read: { agents(): number; inFlight(): number; unproven(): number }): HubTelemetry {
  const registers = [registry];
  new Gauge({ name: 'nbwss_hub_agents', help: 'Agents connected to this hub node', registers, collect() { this.set(read.agents()); } });
  new Gauge({ name: 'nbwss_hub_requests_in_flight', help: 'Requests made on this hub node and waiting for an answer', registers, collect() { this.set(read.inFlight()); } });
  new Gauge({ name: 'nbwss_hub_unproven_connections', help: 'Connections that have not sent a valid CONNECT yet', registers, collect() { this.set(read.unproven()); } });
  const connects = new Counter({ name: 'nbwss_hub_connects_total', help: 'Connections by outcome: accepted, token (refused), bound (too many unproven), timeout (no CONNECT)', labelNames: ['outcome'], registers });
  const requests = new Counter({ name: 'nbwss_hub_requests_total', help: 'Requests by outcome: answered, bridge_error, timeout, offline, full, closed', labelNames: ['outcome'], registers });
  const duration = new Histogram({ name: 'nbwss_hub_request_duration_seconds', help: 'Time from a request to its answer (answered and bridge_error)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120], registers });
  const notifications = new Counter({ name: 'nbwss_hub_notifications_total', help: 'Notifications by outcome: handled, repeat (handled before, acknowledged again), failed (a handler threw)', labelNames: ['outcome'], registers });
  return {
    connect: (outcome) => connects.inc({ outcome }),
    request(outcome, seconds) {
      requests.inc({ outcome });
      if (seconds !== undefined) duration.observe(seconds);
    },
    notification: (outcome) => notifications.inc({ outcome }),
  };
}
