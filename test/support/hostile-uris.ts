// Request uris for the Tomcat differential test: a deterministic corpus trying to climb out of /netbackup/admin/jobs/, and benign ones inside it.
//
// They are the `uri` of a COMMAND REQUEST as the cloud writes it (JS strings: raw non-ASCII, raw
// backslashes and raw control characters included), not what the bridge puts on the wire.

/** The allowed subtree every uri starts in. */
export const SUBTREE = '/netbackup/admin/jobs/';

/** One "go up a level" segment each, in the many spellings a server might take for "..". */
const CLIMBS: readonly string[] = [
  // Dot segments, plain and percent-encoded (any case).
  '..', '%2e%2e', '%2E%2E', '%2e%2E', '%2e.', '.%2e', '%2E.', '.%2E',
  // Tomcat path parameters: ";..." is cut from each segment before normalization, so "..;x" is "..".
  '..;', '..;x=1', '..;jsessionid=1', '.;/..', '%2e%2e;', '%2e%2e;x=1', '.%2e;', '%2E.;a', '..%3b', '..%3B', '..%3bx=1', '..;%3b',
  // Two and three rounds of percent-encoding.
  '%252e%252e', '%252E%252E', '.%252e', '%252e.', '..%253b', '%252e%252e%253b', '%25252e%25252e', '%2525252e%2525252e',
  // Overlong UTF-8 for "." (and one for "/"), and IIS-style %u escapes.
  '%c0%ae%c0%ae', '%e0%80%ae%e0%80%ae', '%f0%80%80%ae%f0%80%80%ae', '%c0%ae.', '.%c0%ae', '%c0%ae%c0%ae%c0%af', '%u002e%u002e',
  // Look-alike dots: fullwidth, one-dot leader, ideographic full stop, two-dot leader, small full stop.
  '\uff0e\uff0e', '%ef%bc%8e%ef%bc%8e', '\u2024\u2024', '%e2%80%a4%e2%80%a4', '\u3002\u3002', '%e3%80%82%e3%80%82', '\u2025', '\ufe52\ufe52',
  // Trailing spaces and dots (Windows strips them), and encoded NUL/TAB after the dots.
  '.. ', '..%20', '..%20%20', '...', '....', '.. .', '..%20.', '..%2e', '..%09', '..%00', '..%0d%0a',
];

/** What the climb is aiming at once out; "" lands on the directory itself (three levels up: the ROOT context). */
const TARGETS: readonly string[] = ['config/servers', 'security/users', ''];

/** Separators between climbs: encoded and doubled slashes, backslashes raw and encoded, empty and "." segments. */
const SEPARATORS: readonly string[] = [
  '%2f', '%2F', '%252f', '%5c', '%5C', '%255c', '\\', '\\/', '//', '/./', '/;/', '/;x=1/', '/%2e/', '%c0%af', '%e0%80%af',
];

/** The climbs tried with every separator. */
const CORE_CLIMBS: readonly string[] = ['..', '%2e%2e', '..;', '%2e%2e;', '%252e%252e', '%c0%ae%c0%ae', '\uff0e\uff0e', '.. '];

/** Hand-written escapes that the generated ones do not spell. */
const HANDWRITTEN: readonly string[] = [
  // Path parameters on the way up, jsessionid included.
  `${SUBTREE};jsessionid=1/../../config/servers`,
  `${SUBTREE};jsessionid=1/../../../`,
  `${SUBTREE}4711;jsessionid=ABC/../../config/servers`,
  `${SUBTREE}4711;a=b/..;c=d/../..;/config/servers`,
  `${SUBTREE};/../..;/..;/`,
  `${SUBTREE}..;jsessionid=1/..;jsessionid=2/config/servers`,
  `${SUBTREE}..;/..;/..;/netbackup/config/servers`,
  `${SUBTREE}..;/..;/..;/manager/html`,
  `${SUBTREE}..%3b/..%3b/config/servers`,
  `${SUBTREE}%2e%2e%3b/%2e%2e%3b/config/servers`,
  // Descend, then climb further than descended; empty segments in between.
  `${SUBTREE}4711/../../../config/servers`,
  `${SUBTREE}4711/./../../../`,
  `${SUBTREE}4711//../../../..`,
  `${SUBTREE}/../../config/servers`,
  `${SUBTREE}//../../config/servers`,
  `${SUBTREE}.//..//..//config/servers`,
  `${SUBTREE}..//..//..//`,
  `${SUBTREE}////../../../`,
  `${SUBTREE}x/..//../..//../`,
  `${SUBTREE}.`,
  `${SUBTREE}..`,
  `${SUBTREE}../`,
  `${SUBTREE}%2e%2e`,
  `${SUBTREE}..;`,
  `${SUBTREE}./`,
  // Climbing inside an encoded slash / backslash segment.
  `${SUBTREE}..%2f..%2fconfig%2fservers`,
  `${SUBTREE}..%5c..%5cconfig%5cservers`,
  `${SUBTREE}..\\..\\config\\servers`,
  `${SUBTREE}..\\..\\..\\`,
  `${SUBTREE}%2e%2e%5c%2e%2e%5cconfig`,
  `${SUBTREE}..%252f..%252fconfig`,
  `${SUBTREE}..%255c..%255cconfig`,
  // Raw control characters (the cloud could send them in JSON).
  `${SUBTREE}..\u0000/../config/servers`,
  `${SUBTREE}\u0000/../../config/servers`,
  `${SUBTREE}..\t/../config/servers`,
  `${SUBTREE}..\r\nX-Injected: 1\r\n/../config`,
  `${SUBTREE}..\u007f/../config/servers`,
  `${SUBTREE}..\u0085/../config/servers`,
  `${SUBTREE}%00/../../config/servers`,
  `${SUBTREE}%09/../../config/servers`,
  // A "?" or "#" the server might not take for the end of the path.
  `${SUBTREE}%3f/../../config/servers`,
  `${SUBTREE}..%3f/../config/servers`,
  `${SUBTREE}..#/../config/servers`,
  `${SUBTREE}x#/../../../`,
  // Malformed and truncated escapes.
  `${SUBTREE}%2/../../config/servers`,
  `${SUBTREE}%%32%65%%32%65/config/servers`,
  `${SUBTREE}%252/../../config`,
  `${SUBTREE}%e0%80/../../config`,
  // Unicode tricks beyond look-alike dots.
  `${SUBTREE}.\u0307./config/servers`,
  `${SUBTREE}\u2215..\u2215..\u2215config`,
  `${SUBTREE}..\uff0f..\uff0fconfig`,
  `${SUBTREE}..\u2216..\u2216config`,
  `${SUBTREE}\ud800/../../config`,
];

/** `depth` climbs joined by `sep`, then `sep` and the target. */
function climb(steps: readonly string[], sep: string, target: string): string {
  return `${SUBTREE}${steps.join(sep)}${sep}${target}`;
}

/** The hostile corpus, deterministic, deduplicated, each starting with SUBTREE. */
export function hostileUris(): string[] {
  const out = new Set<string>();
  // Every climb spelling, 1 to 4 levels up, at every target, plain "/" between.
  for (const c of CLIMBS) {
    for (let depth = 1; depth <= 4; depth++) {
      for (const t of TARGETS) out.add(climb(Array<string>(depth).fill(c), '/', t));
    }
  }
  // The core climbs with every odd separator, 2 and 3 levels up.
  for (const c of CORE_CLIMBS) {
    for (const sep of SEPARATORS) {
      for (const depth of [2, 3]) out.add(climb(Array<string>(depth).fill(c), sep, 'config/servers'));
    }
  }
  // Mixtures: different spellings on each level, with the separators rotating too.
  const seps = ['/', ...SEPARATORS];
  for (let k = 0; k < 120; k++) {
    const depth = 2 + (k % 3);
    const steps = Array.from({ length: depth }, (_, i) => CLIMBS[(k * 7 + i * 13) % CLIMBS.length] as string);
    const sep = k % 4 === 0 ? (seps[(k >> 2) % seps.length] as string) : '/';
    out.add(climb(steps, sep, TARGETS[k % TARGETS.length] as string));
  }
  for (const u of HANDWRITTEN) out.add(u);
  // A query on every fifth one: dots in the query must neither hide nor help a climb.
  const all = [...out];
  all.forEach((u, i) => {
    if (i % 5 === 0) out.add(`${u}?x=../..`);
  });
  out.add(`${SUBTREE}../../config/servers?x=../..`);
  out.add(`${SUBTREE}4711?x=../..`);
  out.add(`${SUBTREE}4711?x=..;/..;/`);
  const list = [...out];
  for (const u of list) if (!u.startsWith(SUBTREE)) throw new Error(`hostile uri outside the subtree: ${JSON.stringify(u)}`);
  return list;
}

/** Uris inside the subtree that the bridge must forward and Tomcat must dispatch inside it. */
export function benignUris(): string[] {
  return [
    `${SUBTREE}`,
    `${SUBTREE}4711`,
    `${SUBTREE}4711/`,
    `${SUBTREE}4711/file-lists`,
    `${SUBTREE}4711/try-logs`,
    `${SUBTREE}4711.json`,
    `${SUBTREE}4711?x=1`,
    `${SUBTREE}4711?`,
    `${SUBTREE}4711?a=1&a=2`,
    `${SUBTREE}?page%5Blimit%5D=10&page%5Boffset%5D=0`,
    `${SUBTREE}?filter=jobType%20eq%20'BACKUP'&sort=-startTime`,
    `${SUBTREE}?filter=state eq 'ACTIVE'`,
    `${SUBTREE}4711?a=1;b=2`,
    `${SUBTREE}4711?x=1;jsessionid=2`,
    `${SUBTREE}4711?q=a%2Fb%5Cc`,
    `${SUBTREE}4711?redirect=/netbackup/config/servers`,
    `${SUBTREE}job%20name`,
    `${SUBTREE}job name`,
    `${SUBTREE}caf\u00e9`,
    `${SUBTREE}caf%C3%A9`,
    `${SUBTREE}\u4f5c\u696d`,
    `${SUBTREE}a.b`,
    `${SUBTREE}.hidden`,
    `${SUBTREE}a..b`,
    `${SUBTREE}a-b_c~d`,
    `${SUBTREE}%7E`,
    `${SUBTREE}4711:cancel`,
    `${SUBTREE}x@y+z=w,v`,
    `${SUBTREE}x!y$z'w`,
    `${SUBTREE}4711/a/b/c/d`,
  ];
}
