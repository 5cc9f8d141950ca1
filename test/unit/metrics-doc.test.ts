// Every series the bridge exports is in the README's metrics table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PrometheusTelemetry } from '../../src/metrics/prometheus.js';

describe('the metrics table', () => {
  it('names every nbwss_ series', async () => {
    const zero = () => 0;
    const t = new PrometheusTelemetry({ queueWaiting: zero, queueRunning: zero, outboxBytes: zero, storeIds: zero, storeBytes: zero, notificationsPending: zero });
    const names = (await t.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('nbwss_'));
    expect(names.length).toBeGreaterThan(20);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('The series (no label'), readme.indexOf('### Outbound proxy'));
    expect(names.filter((n) => !table.includes(`\`${n}\``))).toEqual([]);
  });
});
