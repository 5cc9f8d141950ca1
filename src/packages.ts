// The CommonJS packages the daemon runs on, loaded with require rather than import. Importing a
// CommonJS package from an ES module makes Node.js read the package's source for its export
// names and keep an ES module facade for it, which costs resident memory (about 4 MiB at idle
// for these, measured with `npm run bench:memory`). Each is loaded when the module that needs it
// is, as an import would be, or only when it is used (the proxy agent); their types are the
// packages' own.
//
// The single executable bundles everything as CommonJS: scripts/packaging/sea.mjs drops the
// `require` made here, so that the bundler sees, and bundles, the plain requires below.
import { createRequire } from 'node:module';
import type WebSocketClass from 'ws';
import type * as WsModule from 'ws';
import type PoolClass from 'undici/lib/dispatcher/pool.js';
import type * as PinoModule from 'pino';
import type convictFunction from 'convict';
import type * as HttpsProxyAgentModule from 'https-proxy-agent';

const require = createRequire(import.meta.url);

/** ws's WebSocket class. */
export const requireWs = (): typeof WebSocketClass => require('ws') as typeof WebSocketClass;
/** ws's server. */
export const requireWsServer = (): typeof WsModule.WebSocketServer => (require('ws') as typeof WsModule).WebSocketServer;
/** undici's Pool alone (see undici-pool.d.ts). */
export const requirePool = (): typeof PoolClass => require('undici/lib/dispatcher/pool.js') as typeof PoolClass;
/** pino (the function, with its helpers). */
export const requirePino = (): typeof PinoModule.pino => (require('pino') as typeof PinoModule).pino;
/** https-proxy-agent's agent: loaded only when a proxy is configured. */
export const requireHttpsProxyAgent = (): typeof HttpsProxyAgentModule.HttpsProxyAgent =>
  (require('https-proxy-agent') as typeof HttpsProxyAgentModule).HttpsProxyAgent;
/** convict. */
export const requireConvict = (): typeof convictFunction => require('convict') as typeof convictFunction;
