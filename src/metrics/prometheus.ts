// The Prometheus exporter: every series under the nbwss_ prefix plus the default Node.js
// process metrics, in a registry of its own. No label carries an id, a uri or a secret.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../constants.js';
import { LINK_STATE_VALUE, type DedupeKind, type DisconnectReason, type LinkStateName, type Telemetry } from './telemetry.js';

/** Live values read when /metrics is scraped. */
export interface MetricSources {
  queueWaiting(): number;
  queueRunning(): number;
  outboxBytes(): number;
  storeIds(): number;
  storeBytes(): number;
  notificationsPending(): number;
}

const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;

export class PrometheusTelemetry implements Telemetry {
  readonly registry = new Registry();
  readonly #linkState: Gauge<'group' | 'endpoint'>;
  readonly #connects: Counter<'group' | 'endpoint'>;
  readonly #disconnects: Counter<'group' | 'endpoint' | 'reason'>;
  readonly #refusals: Counter<'group' | 'endpoint'>;
  readonly #dialFailures: Counter<'group' | 'endpoint' | 'reason'>;
  readonly #commands: Counter<'backend' | 'method' | 'status_class'>;
  readonly #errors: Counter<'code'>;
  readonly #rest: Histogram<'backend' | 'method'>;
  readonly #dedupe: Counter<'kind'>;
  readonly #notifSent: Counter<'group' | 'object'>;
  readonly #notifAcked: Counter<'group'>;
  readonly #pollFailures: Counter<'kind'>;
  readonly #backendErrors: Counter<'backend'>;
  readonly #backendSessions: Gauge<'backend'>;
  readonly #secretsRedacted: Counter<'backend'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#linkState = new Gauge({ name: 'nbwss_connection_state', help: 'State of the cloud connection per endpoint: 0 down, 1 connecting, 2 handshaking, 3 ready', labelNames: ['group', 'endpoint'], registers });
    this.#connects = new Counter({ name: 'nbwss_connects_total', help: 'Connections whose CONNECT was answered valid:true', labelNames: ['group', 'endpoint'], registers });
    this.#disconnects = new Counter({ name: 'nbwss_disconnects_total', help: 'Connections that ended, by reason', labelNames: ['group', 'endpoint', 'reason'], registers });
    this.#refusals = new Counter({ name: 'nbwss_connect_refusals_total', help: 'CONNECTs answered valid:false', labelNames: ['group', 'endpoint'], registers });
    this.#dialFailures = new Counter({ name: 'nbwss_dial_failures_total', help: 'Dials that did not end in a ready connection, by why: dns, connection_refused, unreachable, timeout, reset, tls_*, proxy_auth, proxy_refused, http_status, token_refused, connect_timeout, closed, other', labelNames: ['group', 'endpoint', 'reason'], registers });
    this.#commands = new Counter({ name: 'nbwss_commands_total', help: 'COMMAND REQUESTs answered, by backend (none: answered before one was chosen), method and status class', labelNames: ['backend', 'method', 'status_class'], registers });
    this.#errors = new Counter({ name: 'nbwss_bridge_errors_total', help: 'Errors the bridge answered itself, by code', labelNames: ['code'], registers });
    this.#rest = new Histogram({
      name: 'nbwss_rest_duration_seconds',
      help: 'Duration of REST calls, by backend and method',
      labelNames: ['backend', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    new Gauge({ name: 'nbwss_build_info', help: 'Always 1: the version of nbwss-bridge and of the Node.js it runs on', labelNames: ['version', 'node'], registers }).set({ version: VERSION, node: process.version }, 1);
    this.#dedupe = new Counter({ name: 'nbwss_dedupe_hits_total', help: 'Requests with a known id served without running again, by how', labelNames: ['kind'], registers });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    gauge('nbwss_queue_depth', 'Requests waiting in the queue', sources.queueWaiting);
    gauge('nbwss_queue_in_flight', 'REST calls running', sources.queueRunning);
    gauge('nbwss_outbox_bytes', 'Bytes of answers held while no connection is up', sources.outboxBytes);
    gauge('nbwss_dedupe_ids', 'Ids remembered', sources.storeIds);
    gauge('nbwss_dedupe_bytes', 'Bytes of stored answers', sources.storeBytes);
    gauge('nbwss_notification_records_pending', 'Notification records not yet acknowledged by every group', sources.notificationsPending);
    this.#notifSent = new Counter({ name: 'nbwss_notification_batches_sent_total', help: 'NOTIFICATION REQUESTs sent, resends included', labelNames: ['group', 'object'], registers });
    this.#notifAcked = new Counter({ name: 'nbwss_notification_batches_acked_total', help: 'NOTIFICATION REQUESTs acknowledged', labelNames: ['group'], registers });
    this.#backendErrors = new Counter({ name: 'nbwss_backend_reported_errors_total', help: 'Answers with a success status that report an error in the body (AhsayCBS)', labelNames: ['backend'], registers });
    this.#backendSessions = new Gauge({ name: 'nbwss_backend_sessions', help: 'Live sessions the bridge holds with each backend that logs in (at most 1)', labelNames: ['backend'], registers });
    this.#secretsRedacted = new Counter({ name: 'nbwss_secrets_redacted_total', help: "Credentials of the bridge's that a backend echoed in an answer, replaced with [redacted] before it reached the cloud", labelNames: ['backend'], registers });
    this.#pollFailures = new Counter({ name: 'nbwss_poll_failures_total', help: 'Polls of the jobs or images API that failed', labelNames: ['kind'], registers });
  }

  linkState(group: string, endpoint: string, state: LinkStateName): void {
    this.#linkState.set({ group, endpoint }, LINK_STATE_VALUE[state]);
  }
  connected(group: string, endpoint: string): void {
    this.#connects.inc({ group, endpoint });
  }
  disconnected(group: string, endpoint: string, reason: DisconnectReason): void {
    this.#disconnects.inc({ group, endpoint, reason });
  }
  refused(group: string, endpoint: string): void {
    this.#refusals.inc({ group, endpoint });
  }
  dialFailed(group: string, endpoint: string, reason: string): void {
    this.#dialFailures.inc({ group, endpoint, reason });
  }
  answered(backend: string, method: string, status: number): void {
    this.#commands.inc({ backend, method, status_class: statusClass(status) });
  }
  bridgeError(code: string): void {
    this.#errors.inc({ code });
  }
  restDuration(backend: string, method: string, seconds: number): void {
    this.#rest.observe({ backend, method }, seconds);
  }
  dedupeHit(kind: DedupeKind): void {
    this.#dedupe.inc({ kind });
  }

  notificationSent(group: string, object: string): void {
    this.#notifSent.inc({ group, object });
  }
  notificationAcked(group: string): void {
    this.#notifAcked.inc({ group });
  }
  pollFailed(kind: string): void {
    this.#pollFailures.inc({ kind });
  }

  backendError(backend: string): void {
    this.#backendErrors.inc({ backend });
  }

  backendSessions(backend: string, live: number): void {
    this.#backendSessions.set({ backend }, live);
  }

  secretsRedacted(backend: string, count: number): void {
    this.#secretsRedacted.inc({ backend }, count);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
