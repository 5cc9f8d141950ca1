// What a TLS peer's certificate says, as doctor reports it: trusted or why not, the names it
// holds, who issued it, and the days it has left.
import { checkServerIdentity, type TLSSocket } from 'node:tls';

export interface CertificateFacts {
  /** Why the certificate is not acceptable (an OpenSSL or Node.js code), or null. */
  error: string | null;
  summary: string;
  daysLeft: number;
  /** The names it holds (subjectAltName, else the CN). */
  names: string[];
}

export function certificateFacts(socket: TLSSocket, expectedName: string): CertificateFacts {
  const cert = socket.getPeerCertificate(true);
  if (!cert || Object.keys(cert).length === 0) return { error: 'no certificate shown', summary: 'no certificate shown', daysLeft: 0, names: [] };
  const names = cert.subjectaltname ? cert.subjectaltname.split(/,\s*/).map((n) => n.replace(/^(DNS|IP Address):/, '')) : [String(cert.subject?.CN ?? '')].filter(Boolean);
  const daysLeft = Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86_400_000);
  const issuer = cert.issuer?.CN ?? cert.issuer?.O ?? 'an unnamed issuer';
  let depth = 0;
  for (let c = cert; c.issuerCertificate && c.issuerCertificate !== c && depth < 10; c = c.issuerCertificate) depth++;
  const summary = `certificate for ${names.join(', ')} issued by ${issuer} (chain of ${depth + 1}), ${daysLeft >= 0 ? `${daysLeft} days left` : `expired ${Math.floor((Date.now() - Date.parse(cert.valid_to)) / 86_400_000)} days ago`}`;
  const auth = socket.authorizationError;
  const authCode = auth === null || auth === undefined ? null : typeof auth === 'string' ? auth : ((auth as Error & { code?: string }).code ?? String(auth));
  const identity = checkServerIdentity(expectedName, cert) as (Error & { code?: string }) | undefined;
  const error = authCode ?? (identity ? (identity.code ?? 'ERR_TLS_CERT_ALTNAME_INVALID') : null);
  return { error, summary, daysLeft, names };
}
