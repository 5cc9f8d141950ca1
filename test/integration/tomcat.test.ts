// Differential test against a real Tomcat 10.1: whatever the cloud sends, the bridge never gets Tomcat to dispatch outside the allowed subtree.
//
// Every hostile uri goes through the real daemon to a stock embedded Tomcat with two contexts
// ("/netbackup" and ROOT) that records every servlet dispatch. The oracle is Tomcat itself: each
// dispatch must be in context "/netbackup" with servletPath + pathInfo under "/admin/jobs/".
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startBridge, type TestBridge } from '../support/bridge.js';
import type { CloudMessage } from '../support/fakes.js';
import { benignUris, hostileUris, SUBTREE } from '../support/hostile-uris.js';
import { startTomcat, type Dispatch, type RecordingTomcat } from '../support/tomcat.js';

const LONG = 120_000;
const BATCH = 50;
const BRIDGE_ERROR = 'x-nbwss-bridge-error';

let tomcat: RecordingTomcat | null = null;
let bridge: TestBridge | null = null;
let unavailable: string | null = null;
let warned = false;

beforeAll(async () => {
  const started = await startTomcat();
  if (typeof started === 'string') {
    unavailable = started;
    return;
  }
  tomcat = started;
  bridge = await startBridge({
    logLevel: 'warn',
    config: { 'rest.baseUrl': tomcat.url, 'rest.allowedPaths': SUBTREE, 'queue.maxPending': '5000' },
  });
}, LONG);

afterAll(async () => {
  await bridge?.close();
  await tomcat?.stop();
}, LONG);

/** The running Tomcat and bridge; without them, fails in CI and skips elsewhere. */
function needTomcat(ctx: TestContext): { tomcat: RecordingTomcat; bridge: TestBridge } {
  if (unavailable !== null) {
    if (process.env.CI) throw new Error(`the Tomcat differential test must run in CI: ${unavailable}`);
    if (!warned) console.warn(`skipping the Tomcat differential test: ${unavailable}`);
    warned = true;
    ctx.skip(unavailable);
  }
  if (!tomcat || !bridge) throw new Error('Tomcat or the bridge did not start');
  return { tomcat, bridge };
}

/** Inside the allowed subtree, as Tomcat dispatched it. getContextPath() is the raw request form, so even a
 *  ";param" on the "netbackup" segment counts as outside: the check errs towards reporting. */
const inside = (d: Dispatch): boolean => d.context === '/netbackup' && `${d.servletPath}${d.pathInfo ?? ''}`.startsWith('/admin/jobs/');

const where = (d: Dispatch): string =>
  `context ${JSON.stringify(d.context)} servletPath ${JSON.stringify(d.servletPath)} pathInfo ${JSON.stringify(d.pathInfo)} (requestURI ${JSON.stringify(d.requestURI)})`;

/** What became of one uri sent through the bridge. */
interface Outcome {
  uri: string;
  status: number;
  /** The bridge's error code when the bridge answered itself. */
  bridgeError: string | null;
}

async function send(b: TestBridge, uri: string): Promise<Outcome> {
  const resp: CloudMessage = await b.peer.command('GET', uri, { timeoutMs: 30_000 });
  const headers = (resp.payload?.headers ?? {}) as Record<string, string>;
  return { uri, status: Number(resp.payload?.responseCode), bridgeError: headers[BRIDGE_ERROR] ?? null };
}

/** Sends `uris` a batch at a time; returns each outcome with the dispatches it caused (attributed one by one only for a batch that escaped). */
async function sendAll(t: RecordingTomcat, b: TestBridge, uris: readonly string[]) {
  const outcomes: Outcome[] = [];
  const escapes: { uri: string; dispatch: Dispatch }[] = [];
  let dispatched = 0;
  let answered200 = 0;
  for (let i = 0; i < uris.length; i += BATCH) {
    const batch = uris.slice(i, i + BATCH);
    t.clear();
    const results = await Promise.all(batch.map((u) => send(b, u)));
    await t.settle();
    outcomes.push(...results);
    dispatched += t.dispatches.length;
    // Only the servlet answers 200: one dispatch per 200, or the recording missed something.
    answered200 += results.filter((r) => r.status === 200 && r.bridgeError === null).length;
    if (t.dispatches.every(inside)) continue;
    // Which uri of the batch escaped, and where to: send them again, one at a time.
    for (const uri of batch) {
      t.clear();
      await send(b, uri);
      await t.settle();
      for (const d of t.dispatches) if (!inside(d)) escapes.push({ uri, dispatch: d });
    }
  }
  return { outcomes, escapes, dispatched, answered200 };
}

describe('the bridge in front of a real Tomcat 10.1', () => {
  it('never gets Tomcat to dispatch a hostile uri outside /netbackup/admin/jobs/', async (ctx) => {
    const { tomcat: t, bridge: b } = needTomcat(ctx);
    const uris = hostileUris();
    expect(uris.length).toBeGreaterThanOrEqual(300);

    const { outcomes, escapes, dispatched, answered200 } = await sendAll(t, b, uris);

    // Each answer is a refusal by the bridge (400/403, marked) or Tomcat's own answer (unmarked).
    const odd = outcomes.filter((o) => o.bridgeError !== null && o.status !== 400 && o.status !== 403);
    expect(
      odd.map((o) => `${JSON.stringify(o.uri)} → ${o.status} ${o.bridgeError}`),
      'the bridge answered these itself, but not as a refusal (400/403)',
    ).toEqual([]);
    expect(dispatched, 'dispatches recorded vs. 200 answers from the servlet').toBe(answered200);

    const refused = outcomes.filter((o) => o.bridgeError !== null).length;
    const forwarded = outcomes.length - refused;
    expect(
      escapes.map((e) => `${JSON.stringify(e.uri)} → ${where(e.dispatch)}`),
      `${new Set(escapes.map((e) => e.uri)).size} of ${uris.length} hostile uris escaped ${SUBTREE} ` +
        `(${refused} refused by the bridge, ${forwarded} forwarded); Tomcat dispatched them outside it`,
    ).toEqual([]);
  }, LONG);

  it('forwards every benign uri, and Tomcat dispatches it inside the subtree', async (ctx) => {
    const { tomcat: t, bridge: b } = needTomcat(ctx);
    const uris = benignUris();
    expect(uris.length).toBeGreaterThanOrEqual(25);
    const { outcomes, escapes, dispatched } = await sendAll(t, b, uris);
    expect(
      outcomes.filter((o) => o.status !== 200 || o.bridgeError !== null).map((o) => `${JSON.stringify(o.uri)} → ${o.status} ${o.bridgeError ?? ''}`),
      'benign uris not answered 200 by Tomcat',
    ).toEqual([]);
    expect(escapes.map((e) => `${JSON.stringify(e.uri)} → ${where(e.dispatch)}`)).toEqual([]);
    expect(dispatched).toBe(uris.length);
  }, LONG);

  it('has an oracle that sees escapes: straight to Tomcat, "..;" and "%2e%2e" do leave the subtree', async (ctx) => {
    const { tomcat: t } = needTomcat(ctx);
    const direct = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(`${t.url}${path}`, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
    t.clear();
    expect(await direct(`${SUBTREE}..;/..;/..;/x`)).toBe(200);
    expect(await direct(`${SUBTREE}%2e%2e/x`)).toBe(200);
    expect(await direct(`${SUBTREE}4711`)).toBe(200);
    await t.settle();
    expect(t.dispatches.map((d) => [d.context, d.pathInfo, inside(d)])).toEqual([
      ['', '/x', false],
      ['/netbackup', '/admin/x', false],
      ['/netbackup', '/admin/jobs/4711', true],
    ]);
  }, LONG);
});
