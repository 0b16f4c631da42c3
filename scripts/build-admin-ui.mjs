#!/usr/bin/env node
// Builds the admin console's page (lib/features/admin/ui: Preact + htm, TypeScript) into
// <outdir>/app.js and <outdir>/app.css with esbuild: one minified ES module, no source maps, no CDN.
// `npm run build` writes dist/features/admin/assets/; tests build into a directory of their own.
// Usage: node scripts/build-admin-ui.mjs <outdir>
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ui = join(root, 'lib/features/admin/ui');
const outdir = resolve(process.argv[2] ?? join(root, 'dist/features/admin/assets'));

await build({
  entryPoints: { app: join(ui, 'main.ts'), 'app-style': join(ui, 'app.css') },
  outdir,
  entryNames: '[name]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  platform: 'browser',
  legalComments: 'none',
  logLevel: 'warning',
});
// esbuild names a CSS entry after it; the page links app.css.
renameSync(join(outdir, 'app-style.css'), join(outdir, 'app.css'));
const sizes = ['app.js', 'app.css'].map((file) => {
  const bytes = readFileSync(join(outdir, file));
  return `${file} ${bytes.length} B (${gzipSync(bytes).length} B gzipped)`;
});
console.log(`admin console built into ${outdir}: ${sizes.join(', ')}`);
