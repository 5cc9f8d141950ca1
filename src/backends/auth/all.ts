// Every auth profile, one line each: a new profile is its file and a line here. The registry
// (registry.ts) derives everything else from their declarations.
export { ahsay } from './ahsay.js';
export { cohesity } from './cohesity.js';
export { ibmIam } from './ibm-iam.js';
export { netbackupApiKey } from './netbackup-apikey.js';
export { passthrough } from './passthrough.js';
export { proxmoxPbs } from './proxmox-pbs.js';
export { storware } from './storware.js';
export { veeamEm } from './veeam-em.js';
export { veeamVbr } from './veeam-vbr.js';
