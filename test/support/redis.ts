// A real redis-server on a loopback port of its own, for the hub's scale-out tests: nothing
// saved to disk, stopped when the test is over.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './ports.js';

/** Why redis-server cannot run here, or null when it can. */
export function redisUnavailable(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.error ? 'redis-server is not installed (apt-get install redis-server)' : null;
}


export class RedisServer {
  readonly #proc: ChildProcess;
  readonly url: string;
  readonly port: number;

  private constructor(proc: ChildProcess, port: number) {
    this.#proc = proc;
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** A new, empty server (on `port`, to stand for one that restarted). */
  static async start(port?: number): Promise<RedisServer> {
    port ??= await freePort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out}`)));
    });
    return new RedisServer(proc, port);
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    this.#proc.kill('SIGKILL');
    await once(this.#proc, 'exit');
  }
}
