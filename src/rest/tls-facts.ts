// What a TLS peer's certificate says, as doctor reports it: trusted or why not, the names it
// holds, who issued it, and the days it has left.
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';

const DAY_MS = 86_400_000;

/** The entries of a subjectAltName ("DNS:a.example, IP Address:10.0.0.1"), in order, by kind. */
export function subjectAltNames(text: string | undefined): { kind: string; value: string }[] {
  if (!text) return [];
  return text.split(/,\s*/).map((e) => {
    const at = e.indexOf(':');
    return { kind: e.slice(0, at), value: e.slice(at + 1) };
  });
}

/** The names a certificate holds: its subjectAltName entries, else its CN. */
export function certificateNames(cert: Pick<PeerCertificate, 'subjectaltname' | 'subject'>): string[] {
  if (cert.subjectaltname) return subjectAltNames(cert.subjectaltname).map((e) => e.value);
  return [String(cert.subject?.CN ?? '')].filter(Boolean);
}

/** Whole days from now to the certificate's end; negative once it has expired. */
export function daysLeft(cert: Pick<PeerCertificate, 'valid_to'>): number {
  return Math.floor((Date.parse(cert.valid_to) - Date.now()) / DAY_MS);
}

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
  const names = certificateNames(cert);
  const left = daysLeft(cert);
  const issuer = cert.issuer?.CN ?? cert.issuer?.O ?? 'an unnamed issuer';
  let depth = 0;
  for (let c = cert; c.issuerCertificate && c.issuerCertificate !== c && depth < 10; c = c.issuerCertificate) depth++;
  const summary = `certificate for ${names.join(', ')} issued by ${issuer} (chain of ${depth + 1}), ${left >= 0 ? `${left} days left` : `expired ${Math.floor((Date.now() - Date.parse(cert.valid_to)) / DAY_MS)} days ago`}`;
  const auth = socket.authorizationError;
  const authCode = auth === null || auth === undefined ? null : typeof auth === 'string' ? auth : ((auth as Error & { code?: string }).code ?? String(auth));
  const identity = checkServerIdentity(expectedName, cert) as (Error & { code?: string }) | undefined;
  const error = authCode ?? (identity ? (identity.code ?? 'ERR_TLS_CERT_ALTNAME_INVALID') : null);
  return { error, summary, daysLeft: left, names };
}
