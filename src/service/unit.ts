// The systemd unit, written for the systemd it runs under. From 247, secrets are handed over as
// credentials (LoadCredential=, each named after its path, see config/files.ts#secretPath) and the
// files stay root's; before 247 (RHEL 8 has 239) the service's own user reads its own 0600 files,
// and only directives 239 knows are written. systemd/ holds both as shipped in the packages.
import { credentialName } from '../config/files.js';

/** The variants: `credentials` needs systemd 247 or later. */
export type UnitVariant = 'credentials' | 'files';

/** The first systemd version with LoadCredential=, ProtectProc= and ProtectClock=. */
export const CREDENTIALS_SINCE = 247;

export const SERVICE_USER = 'nbwss-bridge';
export const CONFIG_FILE = '/etc/nbwss-bridge/config.json';

export interface UnitOptions {
  variant: UnitVariant;
  /** The command that runs the bridge: the executable (and, for an npm install, node before it). */
  exec: readonly string[];
  /** Secret files handed over as credentials (credentials variant): name → path. */
  credentials: readonly { name: string; path: string }[];
}

/** The variant for a systemd version. */
export function variantFor(systemdVersion: number): UnitVariant {
  return systemdVersion >= CREDENTIALS_SINCE ? 'credentials' : 'files';
}

/** An ExecStart= word: % and $ doubled (systemd expands specifiers and variables), quoted when it has spaces or quotes. */
const quote = (arg: string) => {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@%$+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/(["\\])/g, '\\$1')}"`;
};

/** The [Unit] section of every unit of the product: after the network is up, restarts rate-limited. */
function unitSection(description: string, docsAnchor: string): string[] {
  return [
    '[Unit]',
    `Description=${description}`,
    `Documentation=https://github.com/nbwss-bridge/nbwss-bridge#${docsAnchor}`,
    'Wants=network-online.target',
    'After=network-online.target',
    'StartLimitIntervalSec=300',
    'StartLimitBurst=10',
    '',
  ];
}

/**
 * How every unit restarts and stops. Exit code 2 is a bad configuration: restarting cannot
 * help, so the unit stays failed and says why. SIGTERM starts a graceful stop (the daemon's
 * calls in flight get shutdown.graceMs, 10 s by default; the hub answers its waiting callers).
 */
const RESTART = ['Restart=on-failure', 'RestartSec=5s', 'RestartPreventExitStatus=2', 'TimeoutStopSec=30s', 'KillSignal=SIGTERM'];

/** The sandbox every unit of the product runs in (the newer directives from systemd 247 on). */
function hardening(modern: boolean): string[] {
  return [
    '# Hardening. MemoryDenyWriteExecute= is left out on purpose: V8\'s JIT needs writable+executable memory.',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'PrivateUsers=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'PrivateMounts=yes',
    ...(modern ? ['ProtectKernelLogs=yes', 'ProtectClock=yes', 'ProtectHostname=yes', 'ProtectProc=invisible', 'ProcSubset=pid', 'RestrictSUIDSGID=yes'] : []),
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'LockPersonality=yes',
    'RemoveIPC=yes',
    'KeyringMode=private',
    'DevicePolicy=closed',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged @resources',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'UMask=0077',
  ];
}

/** The unit file's text. */
export function renderUnit(o: UnitOptions): string {
  const modern = o.variant === 'credentials';
  const lines = [
    '# nbwss-bridge: dial-out WebSocket bridge between a cloud application and the local NetBackup REST API.',
    `# Written by "nbwss-bridge service install" (variant: ${o.variant}, for systemd ${modern ? `${CREDENTIALS_SINCE} and later` : '239 to 246'}).`,
    ...unitSection('nbwss-bridge (NetBackup WebSocket Service bridge)', 'readme'),
    '[Service]',
    // Type=exec (240+) reports a missing executable as a failed start.
    `Type=${modern ? 'exec' : 'simple'}`,
    `ExecStart=${[...o.exec, 'run', '--config', CONFIG_FILE].map(quote).join(' ')}`,
    // SIGHUP re-reads the configuration and every file it names (see "Reload" in the README).
    'ExecReload=/bin/kill -HUP $MAINPID',
    ...RESTART,
    `User=${SERVICE_USER}`,
    `Group=${SERVICE_USER}`,
    'StateDirectory=nbwss-bridge',
    'StateDirectoryMode=0700',
    ...(modern
      ? ['# Secret files stay root-only; systemd hands each over as a credential named after the file.', ...o.credentials.map((c) => `LoadCredential=${c.name}:${c.path}`)]
      : ['# Secret files belong to the service user, mode 0600 (systemd 239 has no LoadCredential=).']),
    'Environment=NODE_ENV=production',
    '',
    ...hardening(modern),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

export const HUB_CONFIG_FILE = '/etc/nbwss-bridge/hub.json';
export const HUB_API_KEY_FILE = '/etc/nbwss-bridge/hub-api-key';

/**
 * The hub service's unit (systemd 247 and later: a hub runs where the cloud application does). It
 * runs as a dynamic user with its tokens in its state directory; the API key is a credential.
 */
export function renderHubUnit(exec: readonly string[]): string {
  return [
    '# nbwss-bridge hub: the cloud side of NBWSS, the endpoint agents dial and an HTTP API for the application.',
    ...unitSection('nbwss-bridge hub (NBWSS endpoint for agents, HTTP API for the cloud application)', 'the-hub-service'),
    '[Service]',
    'Type=exec',
    `ExecStart=${[...exec, 'hub', '--config', HUB_CONFIG_FILE].map(quote).join(' ')}`,
    ...RESTART,
    'DynamicUser=yes',
    'StateDirectory=nbwss-bridge-hub',
    'StateDirectoryMode=0700',
    `LoadCredential=hub-api-key:${HUB_API_KEY_FILE}`,
    // Read by the hub itself, which expands them (systemd does not expand variables in Environment=).
    'Environment=NBWSS_HUB_TOKENS=${STATE_DIRECTORY}/tokens.json',
    'Environment=NBWSS_HUB_API_KEY_FILE=${CREDENTIALS_DIRECTORY}/hub-api-key',
    'Environment=NODE_ENV=production',
    '',
    ...hardening(true),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The units shipped in systemd/ and in the packages: the executable at /usr/bin, the token as its only secret. */
export const SHIPPED: Record<string, UnitOptions> = {
  'nbwss-bridge.service': { variant: 'credentials', exec: ['/usr/bin/nbwss-bridge'], credentials: [{ name: credentialName('/etc/nbwss-bridge/token'), path: '/etc/nbwss-bridge/token' }] },
  'nbwss-bridge-v239.service': { variant: 'files', exec: ['/usr/bin/nbwss-bridge'], credentials: [] },
};
