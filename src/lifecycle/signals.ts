// Process-level edges: SIGTERM/SIGINT start a graceful stop, a second one forces the exit,
// and an uncaught error is logged and ends the process non-zero so systemd restarts it.
import type { Logger } from '../log/logger.js';

export interface SignalHandlers {
  /** Graceful stop; the process exits with `exitCode` once it settles. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** SIGHUP: re-read the configuration. */
  reload?(): void;
  exit(code: number): void;
}

export function installSignalHandlers(log: Logger, handlers: SignalHandlers): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal during shutdown; exiting now');
      handlers.exit(1);
      return;
    }
    stopping = true;
    log.info({ signal }, 'signal received; shutting down');
    handlers.stop(signal).then(
      () => handlers.exit(0),
      (err: unknown) => {
        log.fatal({ err }, 'shutdown failed');
        handlers.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const reload = handlers.reload;
  if (reload) {
    process.on('SIGHUP', () => {
      if (stopping) return;
      log.info({ signal: 'SIGHUP' }, 'reloading the configuration');
      reload();
    });
  }
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught error; exiting so the service manager restarts the bridge');
    handlers.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection; exiting so the service manager restarts the bridge');
    handlers.exit(1);
  });
}
