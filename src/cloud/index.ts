// nbwss-bridge/cloud: the cloud application's end of NBWSS (see hub.ts).
export { Hub, type AgentIdentity, type AgentInfo, type Authenticate, type EndpointDetails, type HubLogger, type HubOptions, type HubRequest, type HubResponse, type ListenOptions, type Notification, type RedisOptions } from './hub.js';
export { AgentOfflineError, BridgeAnswerError, HubClosedError, HubError, InFlightFullError, InvalidRequestError, RedisUnreachableError, RequestTimeoutError, type HubErrorCode } from './errors.js';
export { NetBackupSession, type NetBackupCredentials, type NetBackupOptions } from './netbackup.js';
export { FileTokenStore, MemoryTokenStore, type StoredToken, type TokenStore } from './tokens.js';
export { MAX_TIMEOUT_MS } from './requests.js';
