// A real embedded Tomcat 10.1 for tests (test/support/tomcat/RecordingTomcat.java): compiled once, started per test file, recording every servlet dispatch.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Where Tomcat dispatched one request, as the servlet saw it. */
export interface Dispatch {
  /** getContextPath(): "/netbackup", or "" for the ROOT context. */
  context: string;
  servletPath: string;
  pathInfo: string | null;
  /** getRequestURI(): the request line's path, not decoded, path parameters kept. */
  requestURI: string;
  method: string;
}

export interface RecordingTomcat {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every dispatch since the start or the last clear(), in the order Tomcat printed them. */
  dispatches: Dispatch[];
  clear(): void;
  /** Resolves once every dispatch of every request already answered is in `dispatches` (a barrier through Java's stdout). */
  settle(): Promise<void>;
  /** Milliseconds from spawning Java to LISTENING. */
  startupMs: number;
  /** Closes Java's stdin (it exits), killing it after 5 s. */
  stop(): Promise<void>;
}

const JAVA_SOURCE = fileURLToPath(new URL('./tomcat/RecordingTomcat.java', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/nbwss-tomcat/', import.meta.url));
const MAIN_CLASS = 'RecordingTomcat';
const START_TIMEOUT_MS = 30_000;
const STDERR_KEEP = 16 * 1024;

/** The jars embedded Tomcat needs, by Debian name (libtomcat10-java, /usr/share/java) and by name in a Tomcat distribution. */
const JARS: readonly { debian: string; dist: string; runtimeOnly?: true }[] = [
  { debian: 'tomcat10-catalina.jar', dist: 'lib/catalina.jar' },
  { debian: 'tomcat10-servlet-api.jar', dist: 'lib/servlet-api.jar' },
  { debian: 'tomcat10-coyote.jar', dist: 'lib/tomcat-coyote.jar' },
  { debian: 'tomcat10-util.jar', dist: 'lib/tomcat-util.jar' },
  { debian: 'tomcat10-util-scan.jar', dist: 'lib/tomcat-util-scan.jar' },
  { debian: 'tomcat10-api.jar', dist: 'lib/tomcat-api.jar' },
  { debian: 'tomcat10-juli.jar', dist: 'bin/tomcat-juli.jar' },
  // Loaded by Tomcat.FixContextListener when a context starts (@Resource scanning, JASPIC registration).
  { debian: 'tomcat10-annotations-api.jar', dist: 'lib/annotations-api.jar', runtimeOnly: true },
  { debian: 'tomcat10-jaspic-api.jar', dist: 'lib/jaspic-api.jar', runtimeOnly: true },
];

/** The classpath jars, or why there are none: NBWSS_TOMCAT_HOME / CATALINA_HOME (a Tomcat 10.1 distribution) first, else /usr/share/java. */
function findJars(): { compile: string[]; runtime: string[] } | string {
  const home = process.env.NBWSS_TOMCAT_HOME ?? process.env.CATALINA_HOME;
  const dir = process.env.NBWSS_TOMCAT_JARS ?? '/usr/share/java';
  const paths = JARS.map((j) => ({ ...j, path: home ? join(home, j.dist) : join(dir, j.debian) }));
  const missing = paths.filter((j) => !existsSync(j.path)).map((j) => j.path);
  if (missing.length) {
    return `Tomcat 10.1 jars not found (${missing.join(', ')}); install libtomcat10-java or set NBWSS_TOMCAT_HOME to a Tomcat 10.1 directory`;
  }
  return { compile: paths.filter((j) => !j.runtimeOnly).map((j) => j.path), runtime: paths.map((j) => j.path) };
}

/** A JDK tool from JAVA_HOME if set, else from PATH. */
const tool = (name: string): string => (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', name) : name);

function run(file: string, args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

async function mtime(path: string): Promise<number> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return -1;
  }
}

/** Compiles RecordingTomcat.java into the cache unless its class is newer; builds in a scratch dir, then renames into place. */
async function compile(javac: string, classpath: string[]): Promise<void> {
  const classFile = join(CACHE_DIR, `${MAIN_CLASS}.class`);
  if ((await mtime(classFile)) >= (await mtime(JAVA_SOURCE))) return;
  await mkdir(CACHE_DIR, { recursive: true });
  const scratch = await mkdtemp(join(CACHE_DIR, 'build-'));
  try {
    try {
      await run(javac, ['-nowarn', '-encoding', 'UTF-8', '-d', scratch, '-cp', classpath.join(delimiter), JAVA_SOURCE]);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`javac failed on ${JAVA_SOURCE}: ${e.stderr || e.message}`);
    }
    // Nested classes first, the main class last: a class file newer than the source means a complete build.
    const built = (await readdir(scratch)).sort((a, b) => Number(a === `${MAIN_CLASS}.class`) - Number(b === `${MAIN_CLASS}.class`));
    for (const f of built) await rename(join(scratch, f), join(CACHE_DIR, f));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Starts the recording Tomcat, or returns a string saying why it cannot (no java/javac, no Tomcat jars). */
export async function startTomcat(): Promise<RecordingTomcat | string> {
  const jars = findJars();
  if (typeof jars === 'string') return jars;
  const java = tool('java');
  const javac = tool('javac');
  for (const t of [javac, java]) {
    try {
      await run(t, ['-version'], 20_000);
    } catch (err) {
      return `${t} is not usable (${(err as Error).message.split('\n')[0]}); install a JDK 17+ (default-jdk-headless)`;
    }
  }
  await compile(javac, jars.compile);

  // C1 only: Tomcat starts faster, and nothing here runs long enough for C2 to matter.
  const args = ['-XX:TieredStopAtLevel=1', '-Xshare:auto', '-cp', [CACHE_DIR, ...jars.runtime].join(delimiter), MAIN_CLASS];
  const child: ChildProcessWithoutNullStreams = spawn(java, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP);
  });
  child.stdin.on('error', () => {}); // EPIPE once Java is gone: its exit is reported instead

  const dispatches: Dispatch[] = [];
  const synced = new Map<string, () => void>();
  let exited: string | null = null;
  const exitWaiters: (() => void)[] = [];
  let onListening: ((port: number) => void) | null = null;
  let onGone: ((why: string) => void) | null = null;

  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const sp = line.indexOf(' ');
    const tag = sp === -1 ? line : line.slice(0, sp);
    const rest = sp === -1 ? '' : line.slice(sp + 1);
    if (tag === 'DISPATCH') dispatches.push(JSON.parse(rest) as Dispatch);
    else if (tag === 'SYNCED') synced.get(rest)?.();
    else if (tag === 'LISTENING') onListening?.(Number(rest));
  });
  child.on('error', (err) => onGone?.(`could not run ${java}: ${err.message}`));
  child.on('exit', (code, signal) => {
    exited = `Java exited (${signal ?? `code ${code}`})`;
    onGone?.(exited);
    for (const resolve of synced.values()) resolve(); // settle() then reports the exit
    for (const w of exitWaiters.splice(0)) w();
  });

  const started = Date.now();
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`recording Tomcat did not print LISTENING within ${START_TIMEOUT_MS} ms; its stderr:\n${stderr}`));
    }, START_TIMEOUT_MS);
    onListening = (p) => {
      clearTimeout(timer);
      resolve(p);
    };
    onGone = (why) => {
      clearTimeout(timer);
      reject(new Error(`recording Tomcat failed to start: ${why}; its stderr:\n${stderr}`));
    };
  });
  onListening = null;
  onGone = null;
  const startupMs = Date.now() - started;

  let syncs = 0;
  return {
    url: `http://127.0.0.1:${port}`,
    dispatches,
    clear() {
      dispatches.length = 0;
    },
    async settle() {
      if (exited) throw new Error(`recording Tomcat is gone: ${exited}; its stderr:\n${stderr}`);
      const token = String(++syncs);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`recording Tomcat did not answer SYNC ${token} within 10 s`)), 10_000);
        synced.set(token, () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin.write(`SYNC ${token}\n`);
      }).finally(() => synced.delete(token));
      if (exited) throw new Error(`recording Tomcat is gone: ${exited}; its stderr:\n${stderr}`);
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => exitWaiters.push(resolve));
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
    startupMs,
  };
}
