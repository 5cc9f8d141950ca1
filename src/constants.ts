// Values fixed by the product, not by configuration.
import { readFileSync } from 'node:fs';

/** The version, set at bundle time by scripts/dist.mjs: the single executable has no package.json beside it. */
declare const __NBWSS_VERSION__: string | undefined;

const packageVersion = (): string =>
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The product version, from package.json (or, in the single executable, as it was when bundled). */
export const VERSION: string = typeof __NBWSS_VERSION__ === 'string' ? __NBWSS_VERSION__ : packageVersion();

/** Sent as User-Agent when dialling the cloud. */
export const USER_AGENT = `nbwss-bridge/${VERSION}`;

/** The configuration file read when none is named (the one the packages and `service install` write). */
export const DEFAULT_CONFIG_FILE = '/etc/nbwss-bridge/config.json';

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
