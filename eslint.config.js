// ESLint (typescript-eslint) for the library, the sample app, the tests and the benchmarks.
// Formatting is Prettier's (npm run format); import cycles and deep imports are dependency-cruiser's
// (.dependency-cruiser.cjs); both run in `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'build/', 'coverage/', 'bench/results/', 'lib/features/admin/assets/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Request objects of Express, Fastify and GraphQL contexts are untyped at the guard's seam.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-declaration-merging': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // The admin console's page runs in the browser.
    files: ['lib/features/admin/ui/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      // Wrappers of prototype methods keep the wrapping object beside `this`.
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
);
