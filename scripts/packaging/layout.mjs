// What the .deb and the .rpm install, laid out once in a staging tree, and the shell both
// packages' maintainer scripts share (POSIX sh; it runs on Debian, RHEL and SUSE alike).
import { chmod, copyFile, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const NAME = 'nbwss-bridge';
export const MAINTAINER = 'nbwss-bridge maintainers <maintainers@nbwss-bridge.invalid>';
export const HOMEPAGE = 'https://github.com/nbwss-bridge/nbwss-bridge';
/** One line, under 80 characters (Debian's synopsis; the rpm Summary capitalises it). */
export const SUMMARY = "dial-out WebSocket bridge from a cloud app to a backup server's REST API";
export const DESCRIPTION = [
  'nbwss-bridge dials out to a cloud application over a WebSocket (the',
  'NetBackup WebSocket Service protocol) and replays the commands it receives',
  "against the backup server's local REST API, so that no inbound port has to",
  'be opened. It is one self-contained executable with Node.js built in.',
  'Configure /etc/nbwss-bridge/config.json, then enable the systemd service',
  'with "nbwss-bridge service install".',
];

/** Installed paths, as the packages' file lists name them. */
export const PATHS = {
  bin: `/usr/bin/${NAME}`,
  unit: `/usr/lib/systemd/system/${NAME}.service`,
  share: `/usr/share/${NAME}`,
  doc: `/usr/share/doc/${NAME}`,
  etc: `/etc/${NAME}`,
  config: `/etc/${NAME}/config.json`,
  state: `/var/lib/${NAME}`,
};

/** Package versions cannot hold "-": a pre-release 1.2.0-rc.1 becomes 1.2.0~rc.1, which sorts before 1.2.0 in both. */
export const packageVersion = (version) => version.replace(/-/g, '~');

async function put(from, to, mode) {
  await mkdir(dirname(to), { recursive: true, mode: 0o755 });
  await copyFile(from, to);
  await chmod(to, mode);
}

/**
 * Lays out under `stage` everything the packages install (no /var/lib: the maintainer scripts
 * or the rpm file list make it); resolves to the documentation files' installed paths, which
 * the rpm marks as %doc / %license.
 */
export async function stageTree({ root, sea, stage }) {
  const at = (p) => join(stage, p);
  await put(sea, at(PATHS.bin), 0o755);
  // The unit every supported systemd (239 and later) reads as it is; `nbwss-bridge service install`
  // writes the credentials one to /etc/systemd/system where systemd has LoadCredential= (247).
  await put(join(root, 'systemd', `${NAME}-v239.service`), at(PATHS.unit), 0o644);
  for (const f of await readdir(join(root, 'systemd'))) await put(join(root, 'systemd', f), at(`${PATHS.share}/systemd/${f}`), 0o644);
  await put(join(root, 'config', 'config.example.json'), at(PATHS.config), 0o644);
  await chmod(at(PATHS.etc), 0o750);

  const docs = [];
  const licenses = [];
  for (const f of ['README.md', 'SECURITY.md', 'LICENSE']) {
    if (!existsSync(join(root, f))) continue;
    await put(join(root, f), at(`${PATHS.doc}/${f}`), 0o644);
    (f === 'LICENSE' ? licenses : docs).push(`${PATHS.doc}/${f}`);
  }
  if (existsSync(join(root, 'docs'))) {
    for (const f of (await readdir(join(root, 'docs'))).filter((n) => n.endsWith('.md')).sort()) {
      await put(join(root, 'docs', f), at(`${PATHS.doc}/docs/${f}`), 0o644);
      docs.push(`${PATHS.doc}/docs/${f}`);
    }
  }
  return { docs, licenses };
}

/** Shell run as root by the package manager; each snippet is safe to run again. */
export const SH = {
  /** The system user and group the service runs as, made only when missing. */
  createUser: [
    `getent group ${NAME} >/dev/null || groupadd --system ${NAME}`,
    `getent passwd ${NAME} >/dev/null || useradd --system --gid ${NAME} --home-dir ${PATHS.state} --no-create-home --shell /usr/sbin/nologin --comment "${NAME} service" ${NAME}`,
  ].join('\n'),
  /** The state directory is the service's alone; the configuration is readable by its group. */
  makeDirs: [
    `install -d -o ${NAME} -g ${NAME} -m 0700 ${PATHS.state}`,
    `install -d -o root -g ${NAME} -m 0750 ${PATHS.etc}`,
  ].join('\n'),
  /** Only where systemd is the running init (not in a container or chroot build). */
  daemonReload: 'if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi',
  stopService: `if [ -d /run/systemd/system ]; then systemctl stop ${NAME}.service >/dev/null 2>&1 || true; fi`,
  /** On removal: disabled, and the unit \`service install\` wrote removed (it would point at a binary that is gone). */
  disableService: [
    `if [ -d /run/systemd/system ]; then systemctl disable --now ${NAME}.service >/dev/null 2>&1 || true; fi`,
    `if grep -qs 'Written by "nbwss-bridge service install"' /etc/systemd/system/${NAME}.service; then rm -f /etc/systemd/system/${NAME}.service; fi`,
  ].join('\n'),
  /** On upgrade: a running service restarts on the new executable. */
  tryRestart: `if [ -d /run/systemd/system ]; then systemctl try-restart ${NAME}.service >/dev/null 2>&1 || true; fi`,
};
