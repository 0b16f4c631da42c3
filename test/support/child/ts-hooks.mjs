// Node module hooks that run the project's TypeScript in a plain `node` child process, compiled by
// @swc/core with jest.config.js's settings (legacy decorators + metadata, as Nest needs): `.js`
// imports of `.ts` files resolve to the `.ts` file, and `nestjs-opaque-keys` to lib/.
// Registered by ts-register.mjs (`node --import ./test/support/child/ts-register.mjs file.ts`).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import swc from '@swc/core';

const ROOT = new URL('../../../', import.meta.url);

/** @type {import('node:module').ResolveHook} */
export async function resolve(specifier, context, next) {
  if (specifier === 'nestjs-opaque-keys') return next(new URL('lib/index.ts', ROOT).href, context);
  const feature = /^nestjs-opaque-keys\/([a-z-]+)$/.exec(specifier);
  if (feature) return next(new URL(`lib/features/${feature[1]}/index.ts`, ROOT).href, context);
  if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('file:')) && context.parentURL) {
    const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (existsSync(fileURLToPath(candidate))) return next(candidate.href, context);
  }
  return next(specifier, context);
}

/** @type {import('node:module').LoadHook} */
export async function load(url, context, next) {
  if (!url.endsWith('.ts') || !url.startsWith('file:')) return next(url, context);
  const { code } = swc.transformSync(readFileSync(fileURLToPath(url), 'utf8'), {
    filename: fileURLToPath(url),
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  });
  return { format: 'module', source: code, shortCircuit: true };
}

export const root = pathToFileURL(fileURLToPath(ROOT)).href;
