// What doctor and the readiness probe read off a TLS peer's certificate.
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { certificateFacts } from '../../src/rest/tls-facts.js';

const DAY = 86_400_000;
const cert = (o: Record<string, unknown>) => ({ valid_to: new Date(Date.now() + 40 * DAY).toUTCString(), subject: { CN: 'nbu.example' }, issuer: { CN: 'NetBackup CA' }, ...o });
const socket = (c: unknown, authorizationError: unknown = null) => ({ getPeerCertificate: () => c, authorizationError }) as unknown as TLSSocket;

describe('certificateFacts', () => {
  it('names what the certificate holds, its issuer, its chain and the days left', () => {
    const root = cert({ subject: { CN: 'NetBackup CA' } });
    (root as { issuerCertificate?: unknown }).issuerCertificate = root;
    const f = certificateFacts(socket(cert({ subjectaltname: 'DNS:nbu.example, IP Address:10.0.0.5', issuerCertificate: root })), 'nbu.example');
    expect(f).toMatchObject({ error: null, names: ['nbu.example', '10.0.0.5'] });
    expect(f.summary).toMatch(/^certificate for nbu\.example, 10\.0\.0\.5 issued by NetBackup CA \(chain of 2\), (39|40) days left$/);
  });

  it('falls back to the CN, says when it expired, and reports trust and name problems by code', () => {
    const expired = certificateFacts(socket(cert({ valid_to: new Date(Date.now() - 3 * DAY).toUTCString(), issuer: { O: 'Corp' } })), 'nbu.example');
    expect(expired.names).toEqual(['nbu.example']);
    expect(expired.summary).toMatch(/issued by Corp .*expired (2|3) days ago/);
    expect(certificateFacts(socket(cert({}), 'SELF_SIGNED_CERT_IN_CHAIN'), 'nbu.example').error).toBe('SELF_SIGNED_CERT_IN_CHAIN');
    expect(certificateFacts(socket(cert({}), Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' })), 'nbu.example').error).toBe('CERT_HAS_EXPIRED');
    expect(certificateFacts(socket(cert({ subjectaltname: 'DNS:nbu.example' })), 'localhost').error).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(certificateFacts(socket(cert({ subject: {}, issuer: {} })), 'x').summary).toMatch(/issued by an unnamed issuer/);
  });

  it('says so when no certificate was shown', () => {
    expect(certificateFacts(socket({}), 'x')).toMatchObject({ error: 'no certificate shown', names: [] });
  });
});
