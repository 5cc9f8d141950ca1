// The demo's other backup products: one simulator per product on loopback, the backends that
// reach them, and one exchange with each.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RestServer } from './fake-rest.js';
import { AhsaySim, CohesitySim, StorwareSim, VeeamEmSim, VeeamVbrSim } from './products.js';

export interface ProductExchange {
  product: string;
  method: string;
  uri: string;
  parameters?: string;
  note: string;
}

export interface Products {
  /** Backend entries for the config file, NetBackup's first. */
  backends(netbackupUrl: string): object[];
  exchanges: ProductExchange[];
  stop(): Promise<void>;
}

/** Starts the simulators and writes their passwords to files in `dir`. */
export async function startProducts(dir: string): Promise<Products> {
  const em = new VeeamEmSim();
  const vbr = new VeeamVbrSim();
  const coh = new CohesitySim();
  const ahsay = new AhsaySim();
  const sw = new StorwareSim();
  const servers = await Promise.all([em, vbr, coh, ahsay, sw].map((p) => new RestServer(p.handler).start()));
  const [emUrl, vbrUrl, cohUrl, ahsayUrl, swUrl] = servers.map((s) => s.url) as [string, string, string, string, string];
  const pw = async (name: string, value: string) => {
    const path = join(dir, `${name}.pw`);
    await writeFile(path, `${value}\n`, { mode: 0o600 });
    return path;
  };
  const files = {
    em: await pw('veeam-em', em.password),
    vbr: await pw('veeam-vbr', vbr.password),
    coh: await pw('cohesity', coh.password),
    ahsay: await pw('ahsay', ahsay.password),
    sw: await pw('storware', sw.password),
  };
  return {
    backends: (netbackupUrl) => [
      { name: 'netbackup', mount: '/', baseUrl: netbackupUrl, allowedPaths: ['/netbackup/'] },
      { name: 'veeam-em', mount: '/veeam-em', baseUrl: emUrl, allowedPaths: ['/api/'], auth: { type: 'veeam-em', username: em.username, passwordFile: files.em } },
      { name: 'veeam-vbr', mount: '/veeam-vbr', baseUrl: vbrUrl, allowedPaths: ['/api/v1/'], auth: { type: 'veeam-vbr', username: vbr.username, passwordFile: files.vbr, apiVersion: '1.1-rev2' } },
      { name: 'cohesity', mount: '/cohesity', baseUrl: cohUrl, allowedPaths: ['/v2/'], auth: { type: 'cohesity', username: coh.username, passwordFile: files.coh, tenantId: 'tenant-1/' } },
      { name: 'ahsay', mount: '/ahsay', baseUrl: ahsayUrl, allowedPaths: ['/obs/api/json/'], auth: { type: 'ahsay', username: ahsay.username, passwordFile: files.ahsay } },
      { name: 'storware', mount: '/storware', baseUrl: swUrl, allowedPaths: ['/api/'], auth: { type: 'storware', username: sw.username, passwordFile: files.sw } },
    ],
    exchanges: [
      { product: 'Veeam EM', method: 'GET', uri: '/veeam-em/api/jobs', note: 'session header from a Basic login' },
      { product: 'Veeam VBR', method: 'GET', uri: '/veeam-vbr/api/v1/jobs', note: 'OAuth2 bearer token and x-api-version' },
      { product: 'Cohesity', method: 'GET', uri: '/cohesity/v2/data-protect/protection-groups', note: 'access token and X-IBM-Tenant-Id' },
      { product: 'AhsayCBS', method: 'POST', uri: '/ahsay/obs/api/json/2/ListUsers.do', parameters: '{}', note: 'SysUser and SysPwd put into the body' },
      { product: 'Storware', method: 'GET', uri: '/storware/api/virtual-machines', note: 'session cookie from the login' },
    ],
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
