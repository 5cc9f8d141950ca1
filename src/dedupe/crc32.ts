// CRC-32 (IEEE 802.3), to tell a journal record that was written whole from one that was not.

// Stryker disable all: the table is built once per process, and mutation testing runs its mutants in a process where
// it is already built; a wrong table changes every checksum, which the test of CRC-32's standard check value catches
function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}
// Stryker restore all

/** Built on first use. */
let TABLE: Uint32Array | null = null;

/** The CRC-32 of a buffer, as an unsigned 32-bit number. */
export function crc32(buf: Uint8Array): number {
  const table = (TABLE ??= makeTable());
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = (table[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
