// What the daemon knows about notifications before loading them: whether the configuration
// wants them, and which keys only a restart applies. The notifications themselves (pollers,
// the NetBackup API client, the notifier) are loaded only when they are on.
import { notificationSwitchOn, type Config } from '../config/load.js';
import { NOTIFICATION_SWITCHES } from '../config/schema.js';

export const NOTIFICATIONS_RESTART_ONLY: readonly string[] = [
  ...NOTIFICATION_SWITCHES.map((kind) => `notifications.${kind}`),
  'notifications.pollMs',
  'notifications.apiKey',
  'notifications.batchMax',
  'notifications.ackTimeoutMs',
  'notifications.maxPending',
  'notifications.imagesWindowMs',
  'notifications.maxBackoffMs',
];

/** Notifications run when a type is switched on and they have a state dir and an API key (the loader requires both then). */
export function notificationsWanted(c: Config): boolean {
  return notificationSwitchOn(c.notifications) !== null && c.state.dir !== null && c.notifications.apiKey !== null;
}
