/**
 * Dependency rules, checked by `npm run lint`:
 * - no import cycles anywhere;
 * - code outside lib/ (tests, sample app, benchmarks) imports the library through lib/index.ts,
 *   a root file of lib/ (the shared vocabulary) or a folder's entry (lib/<folder>/index.ts), never an inner file;
 * - the pure folders (lib/key, lib/policies) import neither Nest nor TypeORM, nor the rest of the library
 *   but the root errors;
 * - the request path (lib/verification, lib/http) imports nothing of the write side (lib/lifecycle), and
 *   lib/verification nothing of the cache (the cache wraps the store from outside, in the module definition).
 * Inside lib/, folders import each other's files by name (no barrels inside the library, so no barrel cycles).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'outside-lib-through-entries',
      comment: 'Import lib/ through lib/index.ts, a root file of lib/ or a folder entry (index.ts).',
      severity: 'error',
      from: { path: '^(test|sample-app|bench)/' },
      to: { path: '^lib/.+/', pathNot: ['^lib/[^/]+/index\\.ts$', '^lib/[^/]+/[^/]+/index\\.ts$'] },
    },
    {
      name: 'pure-stays-pure',
      comment: 'lib/key and lib/policies are pure: no Nest, no TypeORM, nothing of the library but its root errors.',
      severity: 'error',
      from: { path: '^lib/(key|policies)/' },
      to: {
        pathNot: ['^lib/(key|policies)/', '^lib/api-key\\.errors\\.ts$'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'request-path-reads-only',
      comment:
        'lib/verification and lib/http (the request path) must not import lib/lifecycle (the write side, lifecycle events included).',
      severity: 'error',
      from: { path: '^lib/(verification|http)/' },
      to: { path: '^lib/(lifecycle|events)/' },
    },
    {
      name: 'verification-without-cache',
      comment: 'lib/verification must not import lib/cache: it sees the store interface, cached or not.',
      severity: 'error',
      from: { path: '^lib/verification/' },
      to: { path: '^lib/cache/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|build|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
