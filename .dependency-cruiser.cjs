/**
 * Dependency rules, checked by `npm run lint`. The "reachable" rules follow imports transitively (type-only
 * imports included), so a rule cannot be dodged by going through another file:
 * - no import cycles anywhere;
 * - the core (everything in lib/ outside lib/features/) reaches no feature;
 * - the request path (lib/http, lib/verification) reaches nothing of the write side (lib/lifecycle), nor the cache
 *   (the cache wraps the store from outside, in the module);
 * - the pure folders (lib/key, lib/policies) reach nothing but each other and the root errors (no Nest, no TypeORM);
 * - a feature reaches another feature only through its entry (lib/features/<name>/index.ts);
 * - code outside lib/ (tests, sample app, benchmarks) imports the library through lib/index.ts, a root file of
 *   lib/, a folder's entry (lib/<folder>/index.ts) or a feature's entry (lib/features/<name>/index.ts).
 * Inside lib/, files import each other by name (no barrels inside the library, so no barrel cycles).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-reaches-no-feature',
      comment: 'The core (lib/ outside lib/features/) must not reach any feature, even through other files.',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/features/' },
      to: { path: '^lib/features/', reachable: true },
    },
    {
      name: 'request-path-reaches-no-write-side',
      comment: 'lib/http and lib/verification (the request path) must not reach lib/lifecycle (the write side).',
      severity: 'error',
      from: { path: '^lib/(http|verification)/' },
      to: { path: '^lib/lifecycle/', reachable: true },
    },
    {
      name: 'request-path-reaches-no-cache',
      comment:
        'lib/http and lib/verification see the store interface, cached or not: they reach nothing of lib/cache but the shape of its option.',
      severity: 'error',
      from: { path: '^lib/(http|verification)/' },
      to: { path: '^lib/cache/', pathNot: '^lib/cache/(cache\\.options|invalidation-bus)\\.ts$', reachable: true },
    },
    {
      name: 'pure-reaches-only-pure',
      comment:
        'lib/key and lib/policies are pure: they reach nothing of the library but each other and the root errors (and their code table).',
      severity: 'error',
      from: { path: '^lib/(key|policies)/' },
      to: { path: '^lib/', pathNot: ['^lib/(key|policies)/', '^lib/api-key\\.error(s|-codes)\\.ts$'], reachable: true },
    },
    {
      name: 'pure-imports-no-framework',
      comment: 'lib/key and lib/policies import no package (no Nest, no TypeORM): Node built-ins only.',
      severity: 'error',
      from: { path: '^lib/(key|policies)/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'features-through-entries',
      comment: "A feature imports another feature only through that feature's entry (lib/features/<name>/index.ts).",
      severity: 'error',
      from: { path: '^lib/features/([^/]+)/' },
      to: { path: '^lib/features/([^/]+)/', pathNot: ['^lib/features/$1/', '^lib/features/[^/]+/index\\.ts$'] },
    },
    {
      name: 'outside-lib-through-entries',
      comment: 'Import lib/ through lib/index.ts, a root file of lib/, a folder entry or a feature entry (index.ts).',
      severity: 'error',
      from: { path: '^(test|sample-app|bench)/' },
      to: { path: '^lib/.+/', pathNot: ['^lib/[^/]+/index\\.ts$', '^lib/features/[^/]+/index\\.ts$'] },
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
