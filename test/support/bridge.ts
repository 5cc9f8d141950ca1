// An in-process bridge between a test cloud and a test REST API, all on 127.0.0.1 with
// ephemeral ports; everything it starts is stopped by `close()`.
import type { Config } from '../../src/config/load.js';
import { startLoopback } from '../../src/demo/loopback.js';
import { Daemon } from '../../src/lifecycle/daemon.js';
import { captureLog, type CapturedLog } from './log.js';
import { sendJson, type CloudPeer, type FakeCloud, type RestHandler, type RestServer } from './fakes.js';

export interface TestBridge {
  cloud: FakeCloud;
  rest: RestServer;
  daemon: Daemon;
  config: Config;
  logs: CapturedLog;
  /** The first connection, CONNECT answered (unless answerConnect is false). */
  peer: CloudPeer;
  close(): Promise<void>;
}

export interface TestBridgeOptions {
  rest?: RestHandler;
  /** Config values by key, as CLI flags would give them. */
  config?: Record<string, string>;
  answerConnect?: boolean;
  logLevel?: string;
  /** Environment the configuration is loaded from (e.g. HTTPS_PROXY). */
  env?: Record<string, string>;
}

export const ok: RestHandler = (_req, res) => sendJson(res, 200, { ok: true });

export async function startBridge(opts: TestBridgeOptions = {}): Promise<TestBridge> {
  const loop = await startLoopback({
    rest: opts.rest ?? ok,
    cloud: { answerConnect: opts.answerConnect ?? true },
    overrides: { 'reconnect.minMs': '50', 'reconnect.maxMs': '200', 'shutdown.graceMs': '2000', ...opts.config },
    ...(opts.env ? { env: opts.env } : {}),
  });
  const { cloud, rest, config } = loop;
  const logs = captureLog(opts.logLevel ?? 'debug');
  const daemon = await Daemon.open(config, logs.log);
  await daemon.start();
  const peer = opts.answerConnect === false ? await cloud.peer(0) : await cloud.readyPeer(0);
  return {
    cloud,
    rest,
    daemon,
    config,
    logs,
    peer,
    async close() {
      await daemon.stop('test over');
      await loop.stop();
    },
  };
}

export { sleep } from './wait.js';

/** A REST handler that holds every request until release(). */
export function gate(answer: RestHandler = ok) {
  const held: (() => void)[] = [];
  let open = false;
  return {
    handler: ((req, res) => {
      if (open) return answer(req, res);
      return new Promise<void>((resolve) => held.push(() => resolve(answer(req, res) as void)));
    }) as RestHandler,
    release() {
      open = true;
      for (const go of held.splice(0)) go();
    },
    get held() {
      return held.length;
    },
  };
}
