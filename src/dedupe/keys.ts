// Where an id lives in the store: ids are chosen by each cloud application, so they are kept
// apart per endpoint group. A group name never holds ":", so the key `<group>:<id>` splits
// back at its first ":" and no id of one group can name another group's.

/** The store key of `id` as asked by endpoint group `group`. */
export const keyOf = (group: string, id: string): string => `${group}:${id}`;

/** The group and id a key was made of. */
export function splitKey(key: string): { group: string; id: string } {
  const colon = key.indexOf(':');
  return { group: key.slice(0, colon), id: key.slice(colon + 1) };
}

/** Group names: what config/schema allows for an endpoint's group (never a ":"). */
export const GROUP_NAME = /^[\w.-]{1,64}$/;
