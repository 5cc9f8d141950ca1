// Values fixed by the product, not by configuration.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The product version, from package.json. */
export const VERSION: string = pkg.version;

/** Sent as User-Agent when dialling the cloud. */
export const USER_AGENT = `nbwss-bridge/${VERSION}`;

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
