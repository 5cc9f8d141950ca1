// The REST API's CA, fetched once at install: NetBackup answers GET /netbackup/security/cacert
// without a login, with JSON whose webRootCert is the PEM of the CA that signed its web
// certificate. Fetched before it can be trusted, it is trusted only once the operator confirms
// its SHA-256 fingerprint (read off the NetBackup web UI or `nbcertcmd -listCACertDetails`).
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';

export const CACERT_PATH = '/netbackup/security/cacert';

export interface FetchedCa {
  pem: string;
  /** SHA-256 of the certificate, as AA:BB:... */
  fingerprint: string;
  subject: string;
  validTo: string;
}

/** A fingerprint as typed (any case, with or without colons or spaces), made comparable. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/^sha256[:=\s]*/i, '').replace(/[\s:]/g, '').toUpperCase();
  return hex.match(/.{2}/g)?.join(':') ?? '';
}

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
  const cert = new X509Certificate(pem);
  return { pem: pem.endsWith('\n') ? pem : `${pem}\n`, fingerprint: cert.fingerprint256, subject: cert.subject.replace(/\n/g, ', '), validTo: cert.validTo };
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
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${CACERT_PATH} answered ${res.statusCode}`));
        try {
          resolve(caFromAnswer(Buffer.concat(chunks).toString('utf8')));
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
