// The REST client loads undici's Pool alone (lib/dispatcher/pool.js) rather than the package's
// index, which also loads fetch, WebSocket, caches and mocks the bridge never uses (about
// 8 MiB of resident memory). The types are the package's own.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';
  const PoolClass: typeof Pool;
  export default PoolClass;
}
