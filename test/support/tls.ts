// The test-only CA and server certificate in test/support/tls/.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';

const read = (name: string) => readFileSync(new URL(`./tls/${name}`, import.meta.url), 'utf8');

export const TEST_CA = read('ca.pem');
export const TEST_CA_FILE = new URL('./tls/ca.pem', import.meta.url).pathname;

/** An HTTPS server for localhost / 127.0.0.1 with a certificate signed by the test CA (not listening yet). */
export function httpsServer(handler?: Parameters<typeof createServer>[1]): Server {
  return createServer({ key: read('server.key'), cert: read('server.pem') }, handler);
}
