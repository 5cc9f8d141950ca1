// Every notification type the bridge can send, in the order they are polled. A new type is a
// poller file and a line here (its switch, notifications.<kind>, goes in the schema).
import { IMAGES } from './images.js';
import { JOBS } from './jobs.js';
import type { Config } from '../config/load.js';
import type { Poller } from './poller.js';

export const POLLERS: readonly Poller[] = [JOBS, IMAGES];

/** The types the configuration turns on (`notifications.<kind>: true`). */
export const enabledPollers = (n: Config['notifications']): readonly Poller[] =>
  POLLERS.filter((p) => (n as unknown as Record<string, unknown>)[p.kind] === true);
