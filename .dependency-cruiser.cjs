// Import rules, checked in CI (npm run lint:imports): no import circles (type-only imports
// included), and imports run only downward through the layers
//   cli, demo, index  →  doctor, service, hub (the operator's tools and the hub service)  →  lifecycle  →  parts  →  protocol, rest, policy, config, auth profiles  →  log, errors, retry, packages
// A layer may import its own modules and any layer below it, never one above. The auth
// profiles (backends/auth/) sit with the edges: they describe each product's API (what its
// logins look like, which keys are secret), and the configuration loader reads them; the
// router that uses them is a part. The root logger (lifecycle/logger.ts) redacts every secret
// name the profiles declare, so it is made by the lifecycle, not by log/.
const LAYERS = [
  ['top', '^src/(cli|demo)/|^src/index\\.ts$'],
  ['tools', '^src/(doctor|service|hub)/'],
  ['lifecycle', '^src/lifecycle/'],
  ['parts', '^src/(dedupe|queue|bridge|link|notifications|metrics|cloud)/|^src/backends/(?!auth/)|^src/part\\.ts$'],
  ['edges', '^src/(protocol|rest|policy|config)/|^src/backends/auth/'],
  ['base', '^src/log/|^src/(errors|constants|retry|packages)\\.ts$'],
];

const upward = LAYERS.slice(1).map(([name, path], i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} may not import from a layer above it (${LAYERS.slice(0, i + 1).map(([n]) => n).join(', ')})`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(0, i + 1).map(([, p]) => `(${p})`).join('|') },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'import circles make start order and testing in isolation depend on evaluation order',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unlayered',
      comment: 'every module of src/ belongs to a layer (add new folders to LAYERS)',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map(([, p]) => `(${p})`).join('|') },
      to: {},
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
