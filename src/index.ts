// nbwss-bridge as a library: the parts the daemon is built from, for embedding and tests.
export { loadConfig, redactedConfig, type Config, type LoadOptions } from './config/load.js';
export { Daemon } from './lifecycle/daemon.js';
export { CommandService, type Answerer } from './bridge/commands.js';
export { Dispatcher, type Handler } from './bridge/dispatch.js';
export { type Part } from './part.js';
export { Courier, type Outlet } from './bridge/courier.js';
export { IdStore, type IdEntry, type IdState } from './dedupe/idstore.js';
export { Journal, type JournalRecord } from './dedupe/journal.js';
export { Outbox } from './bridge/outbox.js';
export { Link, type LinkOptions, type LinkEvents } from './link/link.js';
export { Policy, type PolicyResult } from './policy/allow.js';
export { CommandQueue, type Job } from './queue/queue.js';
export { RestClient, type RestCall, type RestCaller } from './rest/client.js';
export { decodeFrame, encodeCommandResponse, encodeErrorResponse, type Inbound } from './protocol/codec.js';
export * from './protocol/envelope.js';
export { AnsweredError, BridgeError, ConfigError, LinkError, type ErrorCode } from './errors.js';
export { createLogger } from './lifecycle/logger.js';
export { VERSION } from './constants.js';
