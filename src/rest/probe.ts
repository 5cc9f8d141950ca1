// A cheap check that a REST API can be reached: a TCP connection and, for https, a TLS handshake
// verified as calls verify it (the extra CA, the expected name), then closed. No HTTP request is
// made, so the REST API's logs and audit trail see nothing. Used for readiness and by doctor.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type PeerCertificate, type TLSSocket } from 'node:tls';
import { mapRestError } from './client.js';
import { certificateFacts } from './tls-facts.js';

export interface ProbeOptions {
  /** Extra trusted CA (PEM), beside the system roots. */
  ca: string | null;
  /** Name expected on the certificate when it is not the URL's host. */
  servername?: string | null;
  timeoutMs: number;
}

export interface ProbeResult {
  /** Null when the API can be reached; else why not, as a call would be answered. */
  error: string | null;
  /** The socket error code, when there was one. */
  code: string | null;
  /** The certificate shown (https), whether or not it was trusted. */
  certificate: PeerCertificate | null;
}

/** Connects to `baseUrl`'s origin (and shakes hands for https), then closes. Never rejects. */
export function probeOrigin(baseUrl: string, opts: ProbeOptions): Promise<ProbeResult> {
  const url = new URL(baseUrl);
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (https ? 443 : 80));
  return new Promise((resolve) => {
    let socket: Socket | TLSSocket;
    const done = (err: (Error & { code?: string }) | null) => {
      clearTimeout(timer);
      const certificate = https ? (socket as TLSSocket).getPeerCertificate?.() ?? null : null;
      socket.destroy();
      const shown = certificate && Object.keys(certificate).length > 0 ? certificate : null;
      resolve(err === null ? { error: null, code: null, certificate: shown } : { error: mapRestError(err, opts.timeoutMs).message, code: err.code ?? null, certificate: shown });
    };
    const timer = setTimeout(() => done(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), opts.timeoutMs);
    if (https) {
      const servername = opts.servername ?? (isIP(host) ? undefined : host); // SNI names a host, never an address
      // Checked here rather than by the handshake, so that the certificate can be reported whatever is wrong with it.
      const tls = tlsConnect({ host, port, rejectUnauthorized: false, ...(servername ? { servername } : {}), ...(opts.ca ? { ca: [...rootCertificates, opts.ca] } : {}) }, () => {
        const facts = certificateFacts(tls, opts.servername ?? host);
        done(facts.error === null ? null : Object.assign(new Error(facts.error), { code: facts.error }));
      });
      socket = tls;
    } else {
      socket = netConnect({ host, port }, () => done(null));
    }
    socket.once('error', (err) => done(err));
  });
}
