// The schema, loaded when first needed: the serving path reads frames with read.ts, and only a
// COMMAND REQUEST it leaves unchecked brings in codec.ts and the schema library behind it.
import type { Inbound, Unchecked } from './read.js';

/** The schema's reading of an unchecked request, once codec.ts is loaded. */
let check: ((u: Unchecked) => Inbound) | null = null;

/**
 * The schema's reading of an unchecked COMMAND REQUEST (a command, or a 400 saying what is
 * wrong): at once when the schema is loaded, else a promise of it. The first request that
 * needs the schema loads it; a bridge that never gets one never does.
 */
export function checkUnchecked(u: Unchecked): Inbound | Promise<Inbound> {
  if (check) return check(u);
  return import('./codec.js').then((codec) => (check = codec.checkCommand)(u));
}
