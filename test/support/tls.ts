// The test-only CA and server certificate in test/support/tls/.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';

const read = (name: string) => readFileSync(new URL(`./tls/${name}`, import.meta.url), 'utf8');

export const TEST_CA = read('ca.pem');
export const TEST_CA_FILE = new URL('./tls/ca.pem', import.meta.url).pathname;

/** The second test CA: it signed `expired` and `othername`. */
export const TEST_CA2_FILE = new URL('./tls/ca2.pem', import.meta.url).pathname;

/** Which certificate a test server shows: the good one, one that expired in 2020 (CA 2), one for nbu.example only (CA 2). */
export type TestCert = 'server' | 'expired' | 'othername';

/** An HTTPS server for localhost / 127.0.0.1 with a certificate signed by the test CA (not listening yet). */
export function httpsServer(handler?: Parameters<typeof createServer>[1], cert: TestCert = 'server'): Server {
  return createServer({ key: read(`${cert}.key`), cert: read(`${cert}.pem`) }, handler);
}
