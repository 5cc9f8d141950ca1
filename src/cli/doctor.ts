// `nbwss-bridge doctor`: the checks of src/doctor/, printed one line each (or as JSON).
import type { LoadOptions } from '../config/load.js';
import { exitCodeOf, formatLines } from '../doctor/report.js';
import { runDoctor } from '../doctor/run.js';

export interface DoctorIo {
  json: boolean;
  out(text: string): void;
  /** Run the systemd check (off in tests: this host's systemd is not the one under test). */
  systemd?: boolean;
  /** Make the CONNECT handshake (off right after install: the service is making its own). */
  connect?: boolean;
}

/** Runs every check; resolves the exit code (1 when one failed). */
export async function doctorCli(load: LoadOptions, io: DoctorIo): Promise<number> {
  const results = await runDoctor(load, { systemd: io.systemd ?? true, ...(io.connect === false ? { connect: false } : {}) });
  const code = exitCodeOf(results);
  io.out(io.json ? `${JSON.stringify({ ok: code === 0, results }, null, 2)}\n` : formatLines(results));
  return code;
}
