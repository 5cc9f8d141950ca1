// The REST API's CA, fetched once at install: NetBackup answers GET /netbackup/security/cacert
// without a login, with JSON whose webRootCert is the PEM of the CA that signed its web
// certificate. Fetched before it can be trusted, it is trusted only once the operator confirms
// its SHA-256 fingerprint (read off the NetBackup web UI or `nbcertcmd -listCACertDetails`).
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { subjectAltNames } from '../rest/tls-facts.js';

export const CACERT_PATH = '/netbackup/security/cacert';

export interface FetchedCa {
  pem: string;
  /** SHA-256 of the certificate, as AA:BB:... */
  fingerprint: string;
  subject: string;
  validTo: string;
  /** The REST API's own certificate, as it was shown while fetching (DER), when it was. */
  server?: Buffer;
}

/** A SHA-256 fingerprint as typed (any case, with or without colons or spaces), made comparable; null when it is not one. */
export function normalizeFingerprint(text: string): string | null {
  const hex = text.replace(/^sha-?256[:=\s]*/i, '').replace(/[\s:]/g, '').toUpperCase();
  return /^[0-9A-F]{64}$/.test(hex) ? (hex.match(/.{2}/g) as string[]).join(':') : null;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The CA in a cacert answer: webRootCert, else the first PEM in cacert. */
export function caFromAnswer(body: string): FetchedCa {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Error(`${CACERT_PATH} did not answer JSON`);
  }
  const o = (json ?? {}) as Record<string, unknown>;
  const candidates = [o.webRootCert, ...(Array.isArray(o.cacert) ? o.cacert : [o.cacert])];
  const pem = candidates.find((c): c is string => typeof c === 'string' && c.includes('-----BEGIN CERTIFICATE-----'));
  if (!pem) throw new Error(`${CACERT_PATH} answered JSON without a PEM certificate (no webRootCert)`);
  // Exactly one certificate: the fingerprint confirmed must be that of everything trusted.
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length !== 1) throw new Error(`${CACERT_PATH} answered ${blocks.length} certificates where NetBackup sends one CA; not trusted`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(blocks[0] as string);
  } catch {
    throw new Error(`${CACERT_PATH} answered a certificate that cannot be read`);
  }
  if (!cert.ca) throw new Error(`${CACERT_PATH} answered a certificate that is not a CA's`);
  return { pem: cert.toString(), fingerprint: cert.fingerprint256, subject: cert.subject.replace(/\n/g, ', '), validTo: cert.validTo };
}

/** Fetches the CA from the REST API at `baseUrl`, without checking its certificate (that is what the fingerprint is for). */
export function fetchCa(baseUrl: string, timeoutMs = 15_000): Promise<FetchedCa> {
  const url = new URL(CACERT_PATH, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { accept: '*/*' }, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 1 << 20) req.destroy(new Error(`${CACERT_PATH} answered more than 1 MiB`));
        else chunks.push(c);
      });
      const shown = (res.socket as TLSSocket).getPeerCertificate?.()?.raw;
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${CACERT_PATH} answered ${res.statusCode}`));
        try {
          resolve({ ...caFromAnswer(Buffer.concat(chunks).toString('utf8')), ...(shown ? { server: shown } : {}) });
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot fetch ${url.origin}${CACERT_PATH}: ${err.code ?? err.message}`)));
    req.end();
  });
}

/**
 * What the REST API's own certificate says, checked against the confirmed CA: whether that CA
 * signed it, and the names it holds (for rest.servername when it does not name the host dialled).
 */
export function serverFacts(ca: FetchedCa): { signed: boolean; names: string[]; addresses: string[] } | null {
  if (!ca.server) return null;
  const leaf = new X509Certificate(ca.server);
  const sans = subjectAltNames(leaf.subjectAltName);
  const names = sans.filter((e) => e.kind === 'DNS').map((e) => e.value);
  const addresses = sans.filter((e) => e.kind === 'IP Address').map((e) => e.value);
  return { signed: leaf.verify(new X509Certificate(ca.pem).publicKey), names, addresses };
}
