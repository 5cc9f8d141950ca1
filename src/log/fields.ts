// Values from the peer as they go into a log line: an id the cloud chose may be any length, and
// a log line must not grow with it.

/** Longest id written to a log line. */
const MAX_LOGGED_ID = 128;

/** The id as logged: cut to 128 characters, saying how long it was. */
export function logId(id: string | undefined): string | undefined {
  if (id === undefined || id.length <= MAX_LOGGED_ID) return id;
  return `${id.slice(0, MAX_LOGGED_ID)}… (${id.length} characters)`;
}
