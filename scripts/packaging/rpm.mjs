// The .rpm: a spec generated here, built by rpmbuild -bb in a throw-away _topdir; %install
// copies the staging tree. Written for RHEL 8/9 and SUSE 15 and built with whatever rpm is at
// hand (Debian's too), hence plain shell instead of the distributions' systemd macros.
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DESCRIPTION, HOMEPAGE, NAME, PATHS, SH, SUMMARY, packageVersion } from './layout.mjs';
import { DistError, run } from './tools.mjs';

function spec({ stage, version, docs, licenses }) {
  const upper = SUMMARY.charAt(0).toUpperCase() + SUMMARY.slice(1);
  // The package owns its documentation directories, docs/ included, not only the files in them.
  const docDirs = [...new Set([PATHS.doc, ...[...docs, ...licenses].map((f) => dirname(f))])].sort();
  return `\
# The injected SEA blob does not survive strip, so nothing may touch the binary after %install:
# no debuginfo split, no brp-strip and friends, no build-id links.
%global debug_package %{nil}
%global __os_install_post %{nil}
%define _build_id_links none
# gzip, which every rpm reads; the building rpm's default may be zstd, which older ones (RHEL 8's) cannot read.
%define _binary_payload w6.gzdio

Name: ${NAME}
Version: ${packageVersion(version)}
Release: 1
Summary: ${upper}
License: Apache-2.0
URL: ${HOMEPAGE}
BuildArch: x86_64
# Node.js is built into the executable; it needs glibc 2.28 and the C++ runtime, as Node.js 20's binaries do.
AutoReqProv: no
Requires: glibc >= 2.28, libstdc++, libgcc
Requires(pre): /usr/sbin/useradd, /usr/sbin/groupadd, /usr/bin/getent

%description
${DESCRIPTION.join('\n')}

%install
mkdir -p %{buildroot}
cp -a '${stage}/usr' '${stage}/etc' %{buildroot}/
install -d %{buildroot}${PATHS.state}

# $1 is how many versions will be installed once this finishes: 1 on install, 2 on upgrade,
# 0 in %preun/%postun when the package goes away.
%pre
${SH.createUser}

%post
${SH.daemonReload}

%preun
if [ "$1" -eq 0 ]; then
${SH.disableService}
fi

%postun
${SH.daemonReload}
if [ "$1" -ge 1 ]; then
${SH.tryRestart}
fi

# After the whole transaction (an upgrade from a package whose %postun restarts nothing, too).
%posttrans
${SH.tryRestart}

%files
%defattr(-,root,root,-)
%attr(0755,root,root) ${PATHS.bin}
${PATHS.unit}
${PATHS.share}
%dir %attr(0750,root,${NAME}) ${PATHS.etc}
%config(noreplace) %attr(0640,root,${NAME}) ${PATHS.config}
%dir %attr(0700,${NAME},${NAME}) ${PATHS.state}
${docDirs.map((d) => `%dir ${d}`).join('\n')}
${docs.map((d) => `%doc ${d}`).join('\n')}
${licenses.map((l) => `%license ${l}`).join('\n')}
`;
}

/** Builds the rpm from `stage` (layout.mjs stageTree) in `work`, then moves it to `out`. */
export async function buildRpm({ stage, version, docs, licenses, work, out }) {
  const top = join(work, 'rpmbuild');
  for (const d of ['SPECS', 'RPMS', 'BUILD', 'BUILDROOT', 'tmp']) await mkdir(join(top, d), { recursive: true });
  const specFile = join(top, 'SPECS', `${NAME}.spec`);
  await writeFile(specFile, spec({ stage, version, docs, licenses }));
  await run('rpmbuild', ['-bb', '--define', `_topdir ${top}`, '--define', `_tmppath ${join(top, 'tmp')}`, specFile]);
  const built = (await readdir(join(top, 'RPMS', 'x86_64'))).filter((f) => f.endsWith('.rpm'));
  if (built.length !== 1) throw new DistError(`rpmbuild made ${built.length} packages in RPMS/x86_64, not one: ${built.join(', ')}`);
  await copyFile(join(top, 'RPMS', 'x86_64', built[0]), out);
}
