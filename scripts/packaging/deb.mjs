// The .deb: the staging tree plus DEBIAN/ (control, conffiles, maintainer scripts), packed by
// dpkg-deb with every file owned by root (the scripts give the service user what it owns).
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DESCRIPTION, HOMEPAGE, MAINTAINER, NAME, PATHS, SH, SUMMARY, packageVersion } from './layout.mjs';
import { run } from './tools.mjs';

const script = (body) => `#!/bin/sh\nset -e\n${body.trim()}\nexit 0\n`;
/** A shared snippet indented to sit in a case branch. */
const ind = (sh) => sh.replace(/^/gm, '    ');

/** Maintainer scripts by name; $1 is what dpkg is doing (install, configure, remove, purge, ...). */
const MAINTAINER_SCRIPTS = {
  // Before the files land: the user exists from the start, e.g. for the conffile's group below.
  preinst: script(`
case "$1" in
  install|upgrade)
${ind(SH.createUser)}
    ;;
esac`),
  // Again here (idempotent), in case the user was removed by hand since; the first install makes
  // the shipped config readable by the service's group only, later ones keep the operator's choice.
  postinst: script(`
case "$1" in
  configure)
${ind(SH.createUser)}
${ind(SH.makeDirs)}
    if [ -z "$2" ] && [ -f ${PATHS.config} ]; then
      chown root:${NAME} ${PATHS.config}
      chmod 0640 ${PATHS.config}
    fi
${ind(SH.daemonReload)}
    if [ -n "$2" ]; then
${ind(ind(SH.tryRestart))}
    fi
    ;;
esac`),
  // The service is enabled and started by the operator (nbwss-bridge service install), never here.
  prerm: script(`
case "$1" in
  remove)
${ind(SH.disableService)}
    ;;
esac`),
  // Purge removes all the package made: the state (also where DynamicUser= moved it), the
  // configuration directory with anything the operator put there, and the user and group.
  postrm: script(`
case "$1" in
  purge)
    rm -rf ${PATHS.state} /var/lib/private/${NAME} ${PATHS.etc}
    if getent passwd ${NAME} >/dev/null; then userdel ${NAME} >/dev/null 2>&1 || true; fi
    if getent group ${NAME} >/dev/null; then groupdel ${NAME} >/dev/null 2>&1 || true; fi
${ind(SH.daemonReload)}
    ;;
  remove)
${ind(SH.daemonReload)}
    ;;
esac`),
};

/** Total size of the files under `dir`, in KiB, for Installed-Size. */
async function kib(dir) {
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) bytes += (await stat(join(e.parentPath ?? e.path, e.name))).size;
  }
  return Math.ceil(bytes / 1024);
}

/** Packs `stage` (from layout.mjs stageTree) into `out`; DEBIAN/ is added inside `stage`. */
export async function buildDeb({ stage, version, out }) {
  const size = await kib(stage);
  const debian = join(stage, 'DEBIAN');
  await mkdir(debian, { mode: 0o755 });
  const control = [
    `Package: ${NAME}`,
    `Version: ${packageVersion(version)}`,
    'Architecture: amd64',
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${size}`,
    // Node.js 20's release binaries need glibc 2.28 and the C++ runtime.
    'Depends: libc6 (>= 2.28), libstdc++6, libgcc-s1 | libgcc1',
    'Section: admin',
    'Priority: optional',
    `Homepage: ${HOMEPAGE}`,
    `Description: ${SUMMARY}`,
    ...DESCRIPTION.map((l) => ` ${l}`),
  ];
  await writeFile(join(debian, 'control'), `${control.join('\n')}\n`);
  // Listed conffiles survive upgrades as the operator edited them (dpkg asks when both changed).
  await writeFile(join(debian, 'conffiles'), `${PATHS.config}\n`);
  for (const [name, text] of Object.entries(MAINTAINER_SCRIPTS)) {
    await writeFile(join(debian, name), text);
    await chmod(join(debian, name), 0o755);
  }
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', stage, out]);
}
