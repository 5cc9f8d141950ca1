// Why a dial did not end in a ready connection, said so an operator can act on it: a reason
// small enough to be a metric label, the side at fault (the cloud, the proxy, TLS, the
// network) and the fix. Shared by the link's log lines and by doctor.

/** The reasons of nbwss_dial_failures_total. */
export type DialFailureReason =
  | 'dns' | 'connection_refused' | 'unreachable' | 'timeout' | 'reset'
  | 'tls_expired' | 'tls_name' | 'tls_untrusted' | 'tls_other'
  | 'proxy_auth' | 'proxy_refused' | 'http_status'
  | 'token_refused' | 'connect_timeout' | 'closed' | 'other';

export type FailureSide = 'network' | 'proxy' | 'tls' | 'cloud';

export interface DialFailure {
  reason: DialFailureReason;
  side: FailureSide;
  /** One line: what happened. */
  cause: string;
  /** One line: what to do. */
  hint: string;
}

export interface DialEvidence {
  /** The socket's error code (ECONNREFUSED, CERT_HAS_EXPIRED, ...) or message, or a bridge code (NBW_ERR_...). */
  error: string;
  /** The host dialled (the cloud's), for messages. */
  host: string;
  /** The proxy dialled through, if any (without credentials). */
  proxy: string | null;
  /** The status the proxy answered the CONNECT with, when it answered. */
  proxyStatus: number | null;
  /** The key naming the CA for this side (cloud.caFile or rest.caFile). */
  caKey: string;
  /** The key naming the expected certificate name, if the product has one (rest.servername). */
  nameKey?: string;
}

const TLS_UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

/** Classifies why a dial failed, from what the socket and the proxy said. */
export function classifyDial(e: DialEvidence): DialFailure {
  const { error, host } = e;
  const via = e.proxy ? ` through the proxy ${e.proxy}` : '';
  if (e.proxy && e.proxyStatus !== null && e.proxyStatus !== 200) {
    if (e.proxyStatus === 407) {
      return { reason: 'proxy_auth', side: 'proxy', cause: `the proxy ${e.proxy} asks for credentials (407 Proxy Authentication Required)`, hint: 'put the proxy user and password in cloud.proxy (http://user:password@host:port) or HTTPS_PROXY' };
    }
    return { reason: 'proxy_refused', side: 'proxy', cause: `the proxy ${e.proxy} refused to open a tunnel to ${host} (${e.proxyStatus})`, hint: `ask the proxy's administrator to allow CONNECT to ${host}` };
  }
  const status = /^Unexpected server response: (\d+)/.exec(error)?.[1];
  if (status !== undefined) {
    return { reason: 'http_status', side: 'cloud', cause: `the cloud endpoint answered HTTP ${status} instead of a WebSocket upgrade`, hint: 'check cloud.url (path included) with the cloud application; a load balancer must pass WebSocket upgrades through' };
  }
  switch (error) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { reason: 'dns', side: 'network', cause: `${e.proxy ?? host} does not resolve (${error})`, hint: 'check the name and this host\'s DNS (/etc/resolv.conf); through a proxy, only the proxy\'s name must resolve here' };
    case 'ECONNREFUSED':
      return { reason: 'connection_refused', side: e.proxy ? 'proxy' : 'network', cause: `${e.proxy ?? host} refused the TCP connection`, hint: e.proxy ? 'check the proxy\'s address and port' : 'check the port in cloud.url and that the cloud endpoint is up; if this host must use a proxy, set cloud.proxy or HTTPS_PROXY' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { reason: 'unreachable', side: 'network', cause: `no route to ${e.proxy ?? host} (${error})`, hint: 'a firewall or routing problem between this host and the endpoint; outbound 443 must be open, or a proxy set' };
    case 'ETIMEDOUT':
    case 'Opening handshake has timed out':
      return { reason: 'timeout', side: 'network', cause: `no answer from ${host}${via} within the connect timeout`, hint: 'a firewall that drops packets, or a proxy this host must use (cloud.proxy or HTTPS_PROXY); the limit is cloud.connectTimeoutMs' };
    case 'ECONNRESET':
    case 'EPIPE':
      return { reason: 'reset', side: e.proxy ? 'proxy' : 'network', cause: `the connection to ${e.proxy ?? host} was reset`, hint: 'often a firewall or TLS-inspecting proxy cutting the connection; check what sits between this host and the cloud' };
    case 'CERT_HAS_EXPIRED':
      return { reason: 'tls_expired', side: 'tls', cause: `${host}'s certificate has expired`, hint: 'the endpoint\'s operator must renew its certificate; also check this host\'s clock' };
    case 'CERT_NOT_YET_VALID':
      return { reason: 'tls_expired', side: 'tls', cause: `${host}'s certificate is not valid yet`, hint: 'check this host\'s clock (timedatectl)' };
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return { reason: 'tls_name', side: 'tls', cause: `${host}'s certificate does not name ${host}`, hint: e.nameKey ? `dial it by a name its certificate holds, or set ${e.nameKey} to one of them` : 'dial it by a name its certificate holds' };
    case 'NBW_ERR_CONNECT_REFUSED':
      return { reason: 'token_refused', side: 'cloud', cause: 'the cloud answered the CONNECT with valid:false: it does not accept the token', hint: 'get a new token (or endpoint details) from the cloud application and rotate it: nbwss-bridge service rotate-token' };
    case 'NBW_ERR_CONNECT_TIMEOUT':
      return { reason: 'connect_timeout', side: 'cloud', cause: 'the cloud opened the WebSocket but did not answer the CONNECT in time', hint: 'the cloud application is up but not serving this endpoint; ask its operator' };
  }
  if (TLS_UNTRUSTED.has(error)) {
    return { reason: 'tls_untrusted', side: 'tls', cause: `${host}'s certificate is not signed by a CA this host trusts (${error})${via ? ' (a TLS-inspecting proxy re-signs certificates)' : ''}`, hint: `put the root CA's PEM (not only an intermediate) in ${e.caKey}` };
  }
  if (/^(ERR_TLS_|ERR_SSL_|CERT_)/.test(error) || /SSL|TLS/.test(error)) {
    return { reason: 'tls_other', side: 'tls', cause: `TLS with ${host} failed (${error})`, hint: 'check that the endpoint speaks TLS on this port, and its certificate' };
  }
  if (/^closed \d+/.test(error)) {
    return { reason: 'closed', side: 'cloud', cause: `the cloud closed the connection before it was ready (${error})`, hint: 'the cloud application ended the session; its logs say why' };
  }
  return { reason: 'other', side: 'network', cause: `${error}`, hint: 'see the error; nbwss-bridge doctor checks each step of the connection' };
}
