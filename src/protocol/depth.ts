// How deeply a parsed JSON value nests, checked without recursion: a value the cloud nested
// thousands of levels deep must never reach code that recurses (JSON.stringify, logging).

/** Default bound on the nesting of JSON from the cloud (cloud.maxJsonDepth). */
export const DEFAULT_MAX_JSON_DEPTH = 128;

/** True when objects and arrays in `value` nest deeper than `max` (the outermost counts as 1). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: object[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const v = stack.pop() as object;
    const d = depths.pop() as number;
    if (d > max) return true;
    const children = Array.isArray(v) ? (v as unknown[]) : Object.values(v);
    for (const c of children) {
      if (typeof c === 'object' && c !== null) {
        stack.push(c);
        depths.push(d + 1);
      }
    }
  }
  return false;
}
