import swc from '@swc/core';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Compiler options of jest.config.js: legacy decorators with metadata, as Nest needs; ES modules. */
const SWC_OPTIONS: swc.Options = {
  swcrc: false,
  sourceMaps: false,
  jsc: {
    target: 'es2023',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
  },
  module: { type: 'es6' },
};

/** The `.ts` files under `dir`, skipping declaration files and the folders in `skip`. */
function sources(dir: string, skip: readonly string[]): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !skip.some((folder) => file.startsWith(folder)));
}

async function compileTree(from: string, to: string, skip: readonly string[] = []): Promise<void> {
  await Promise.all(
    sources(from, skip).map(async (file) => {
      const { code } = await swc.transformFile(file, SWC_OPTIONS);
      const out = join(to, relative(from, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, code);
    }),
  );
}

/**
 * A compiled copy of this checkout in `dir`, laid out as `npm start` leaves
 * the repository, for pages that run the CLIs there: the library in `dist/`
 * (its CLI at `dist/features/cli/main.js`), the sample app in
 * `build/sample-app/` (its `data-source.js` for `-d`), and the package.json,
 * so the sample's `import 'nestjs-opaque-keys'` resolves to that `dist/`. Compiled with swc,
 * file by file (a second or two; the CLI suite covers the tsc build).
 */
export async function buildCliCheckout(root: string, dir: string): Promise<void> {
  await compileTree(join(root, 'lib'), join(dir, 'dist'), [join(root, 'lib', 'features', 'admin', 'ui')]);
  await compileTree(join(root, 'sample-app'), join(dir, 'build', 'sample-app'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
}

/**
 * A shell function standing in for `npx` in the docs tests: the installed
 * TypeORM CLI for `npx typeorm` (what `node_modules/.bin/typeorm` runs in the
 * repository), and nothing else, never the registry.
 */
export function npxPrelude(root: string): string {
  const typeorm = join(root, 'node_modules', 'typeorm', 'cli.js').replace(/'/g, `'\\''`);
  return `npx() {
  case "$1" in
    typeorm) shift; node '${typeorm}' "$@" ;;
    *) echo "npx $1: not available in the docs tests" >&2; return 127 ;;
  esac
}`;
}
