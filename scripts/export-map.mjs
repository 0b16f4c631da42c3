#!/usr/bin/env node
// The public exports of each entry of the package, read from the sources (TypeScript's parser, no type check),
// and what moved between release 0.1 and this tree: CHANGELOG.md's "Upgrading from 0.1" map is derived from it,
// and test/unit/upgrade-from-0.1.spec.ts holds the two together.
//
//   node scripts/export-map.mjs            prints the exports of 0.1 that this tree's same entry lacks, as
//                                          markdown rows (old entry, name, where it is now), and the options,
//                                          module extras and ApiKeyService methods of 0.1 this tree lacks
//   node scripts/export-map.mjs --write    first rewrites test/support/release-0.1-exports.json from git (the
//                                          0.1 surface, so that the unit test needs no git history)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const RELEASE_0_1_COMMIT = '2573308369975946b263f897fe5abfa1ae3521a0';
export const PACKAGE = 'nestjs-opaque-keys';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SNAPSHOT = join(root, 'test', 'support', 'release-0.1-exports.json');

/**
 * The names `file` exports (values and types alike), following `export *` into the files it names.
 * `read(path)` gives a source file's text by its path from the package root (posix), or undefined.
 */
export function exportedNames(file, read) {
  const names = new Set();
  const source = ts.createSourceFile(file, read(file) ?? fail(`cannot read ${file}`), ts.ScriptTarget.Latest);
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      const target = statement.moduleSpecifier?.text;
      if (!statement.exportClause) {
        const path = posix.join(posix.dirname(file), target.replace(/\.js$/, '.ts'));
        for (const name of exportedNames(path, read)) names.add(name);
      } else if (ts.isNamespaceExport(statement.exportClause)) {
        names.add(statement.exportClause.name.text);
      } else {
        for (const element of statement.exportClause.elements) names.add(element.name.text);
      }
      continue;
    }
    const exported = ts.canHaveModifiers(statement)
      ? ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)
      : false;
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) names.add(declaration.name.getText(source));
    } else if (statement.name) {
      names.add(statement.name.text);
    }
  }
  return [...names].sort();
}

/**
 * The public members of interface or class `name` in `file` (no constructor, nothing private or protected, and for
 * an interface that extends others, only its own): an options interface's options, a class's methods.
 */
export function membersOf(file, name, read) {
  const source = ts.createSourceFile(file, read(file) ?? fail(`cannot read ${file}`), ts.ScriptTarget.Latest);
  const declaration = source.statements.find(
    (statement) =>
      (ts.isInterfaceDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name?.text === name,
  );
  if (!declaration) fail(`${name} is not declared in ${file}`);
  const hidden = (member) =>
    ts.canHaveModifiers(member) &&
    ts
      .getModifiers(member)
      ?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
  return declaration.members
    .filter((member) => member.name && !ts.isConstructorDeclaration(member) && !hidden(member))
    .filter((member) => !ts.isPropertyDeclaration(member) || !ts.isClassDeclaration(declaration))
    .map((member) => member.name.getText(source))
    .sort();
}

/** Where each version declares the option interfaces and the service, whose members the upgrade notes map. */
export const MEMBER_SOURCES = {
  release01: {
    ApiKeyModuleOptions: 'lib/api-key.options.ts',
    ApiKeyModuleExtras: 'lib/api-key.options.ts',
    ApiKeyService: 'lib/lifecycle/api-key.service.ts',
    ApiKeyEventOptions: 'lib/lifecycle/events/api-key-event.listener.ts',
  },
  current: {
    ApiKeyModuleOptions: 'lib/api-key.options.ts',
    ApiKeyModuleExtras: 'lib/module/api-key.extras.ts',
    ApiKeyService: 'lib/lifecycle/api-key.service.ts',
    ApiKeyEventOptions: 'lib/features/events/events.options.ts',
  },
};

/** Each entry of a package.json `exports` map (`nestjs-opaque-keys`, `nestjs-opaque-keys/<name>`) with its source file. */
export function entriesOf(packageJson, listFeatures) {
  const entries = {};
  for (const [key, target] of Object.entries(packageJson.exports)) {
    const types = typeof target === 'object' ? target.types : undefined;
    if (!types) continue;
    const source = types.replace(/^\.\/dist\//, 'lib/').replace(/\.d\.ts$/, '.ts');
    if (key.includes('*')) {
      for (const name of listFeatures(posix.dirname(posix.dirname(source)))) {
        entries[`${PACKAGE}/${name}`] = source.replace('*', name);
      }
    } else {
      entries[key === '.' ? PACKAGE : `${PACKAGE}/${key.slice(2)}`] = source;
    }
  }
  return entries;
}

/** The members of the option interfaces and the service in this tree. */
export function currentMembers() {
  return membersFrom(MEMBER_SOURCES.current, readCurrent);
}

function readCurrent(path) {
  return existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined;
}

function readRelease01(path) {
  try {
    return execFileSync('git', ['show', `${RELEASE_0_1_COMMIT}:${path}`], { cwd: root, encoding: 'utf8' });
  } catch {
    return undefined;
  }
}

function membersFrom(sources, read) {
  return Object.fromEntries(Object.entries(sources).map(([name, file]) => [name, membersOf(file, name, read)]));
}

/** The exports of every entry of this tree. */
export function currentExports() {
  const read = readCurrent;
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const features = (dir) =>
    readdirSync(join(root, dir), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(root, dir, entry.name, 'index.ts')))
      .map((entry) => entry.name);
  return mapEntries(entriesOf(packageJson, features), read);
}

/** The exports of every entry of release 0.1, and the members of its option interfaces and service, from git. */
export function release01Surface() {
  const packageJson = JSON.parse(
    readRelease01('package.json') ?? fail(`commit ${RELEASE_0_1_COMMIT} not in this clone`),
  );
  return {
    entries: mapEntries(
      entriesOf(packageJson, () => []),
      readRelease01,
    ),
    members: membersFrom(MEMBER_SOURCES.release01, readRelease01),
  };
}

/** Each member of `before` (option, extra, service method) that `after` lacks. */
export function removedMembers(before, after) {
  return Object.entries(before).flatMap(([owner, names]) =>
    names.filter((name) => !after[owner].includes(name)).map((name) => ({ owner, name })),
  );
}

/** The 0.1 surface as test/support/release-0.1-exports.json keeps it: `{ entries, members }`. */
export function release01Snapshot() {
  return JSON.parse(readFileSync(SNAPSHOT, 'utf8'));
}

/** Each export of `before` its entry no longer has in `after`: where `after` exports that name now, if anywhere. */
export function movedExports(before, after) {
  const moved = [];
  for (const [entry, names] of Object.entries(before)) {
    const still = new Set(after[entry] ?? []);
    for (const name of names) {
      if (still.has(name)) continue;
      const now = Object.keys(after).filter((other) => after[other].includes(name));
      moved.push({ entry, name, now });
    }
  }
  return moved;
}

function mapEntries(entries, read) {
  return Object.fromEntries(Object.entries(entries).map(([entry, file]) => [entry, exportedNames(file, read)]));
}

function fail(message) {
  throw new Error(message);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const before = process.argv.includes('--write') ? release01Surface() : release01Snapshot();
  if (process.argv.includes('--write')) {
    const prettier = await import('prettier'); // a dev dependency, as the file is checked by `npm run lint`
    const style = (await prettier.resolveConfig(SNAPSHOT)) ?? {};
    writeFileSync(SNAPSHOT, await prettier.format(JSON.stringify(before), { ...style, filepath: SNAPSHOT }));
  }
  const rows = movedExports(before.entries, currentExports()).map(
    ({ entry, name, now }) =>
      `| \`${entry}\` | \`${name}\` | ${now.length ? now.map((to) => `\`${to}\``).join(', ') : 'removed'} |`,
  );
  console.log(['| 0.1 entry | export | now |', '| --- | --- | --- |', ...rows].join('\n'));
  const members = removedMembers(before.members, currentMembers());
  console.log('\nRemoved members:\n' + members.map(({ owner, name }) => `- ${owner}.${name}`).join('\n'));
}
