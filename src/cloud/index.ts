// nbwss-bridge/cloud: the cloud application's end of NBWSS (see hub.ts).
export { Hub, type AgentIdentity, type AgentInfo, type Authenticate, type EndpointDetails, type HubOptions, type HubRequest, type HubResponse, type ListenOptions, type Notification } from './hub.js';
export { AgentOfflineError, BridgeAnswerError, HubClosedError, HubError, InFlightFullError, RequestTimeoutError, type HubErrorCode } from './errors.js';
export { NetBackupSession, type NetBackupCredentials, type NetBackupOptions } from './netbackup.js';
export { FileTokenStore, MemoryTokenStore, type StoredToken, type TokenStore } from './tokens.js';
