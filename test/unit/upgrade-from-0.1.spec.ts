import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { ApiKeyConfigurationError } from 'nestjs-opaque-keys';
import { ResolvedApiKeyOptions } from '../../lib/api-key.options.js';
import {
  currentExports,
  currentMembers,
  movedExports,
  release01Snapshot,
  removedMembers,
  type MovedExport,
} from '../../scripts/export-map.mjs';

/**
 * CHANGELOG.md's "Upgrading from 0.1" against the code: its map of moved exports is, row for row, what
 * scripts/export-map.mjs finds comparing release 0.1's entries (test/support/release-0.1-exports.json, written
 * from git by `node scripts/export-map.mjs --write`) with this tree's; every option, module extra and service
 * method 0.1 had and this tree lacks is named there; and a moved option fails the boot naming its feature.
 */

const release = release01Snapshot();
const now = currentExports();

/** The "Upgrading from 0.1" section of CHANGELOG.md. */
function upgradeSection(): string {
  const text = readFileSync('CHANGELOG.md', 'utf8');
  const start = text.indexOf('### Upgrading from 0.1');
  expect(start).toBeGreaterThan(-1);
  const rest = text.slice(text.indexOf('\n', start) + 1);
  const end = rest.search(/^#{1,3} /m); // the next section of the same level or above
  return end === -1 ? rest : rest.slice(0, end);
}

/** The rows of its "Moved exports" table: 0.1 entry, export, where it is now ([] for removed), note. */
function mapRows(): (MovedExport & { note: string })[] {
  const section = upgradeSection();
  const table = section.slice(section.indexOf('#### Moved exports'));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [entry, name, where, note] = line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim());
      const unquote = (cell: string) => cell.replace(/^`|`$/g, '');
      const entries = where === 'removed' ? [] : [...where.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
      return { entry: unquote(entry), name: unquote(name), now: entries, note };
    });
}

const byKey = (rows: MovedExport[]) =>
  rows
    .map(({ entry, name, now: where }) => ({ entry, name, now: [...where].sort() }))
    .sort((a, b) => `${a.entry} ${a.name}`.localeCompare(`${b.entry} ${b.name}`));

describe('upgrading from 0.1: the CHANGELOG map', () => {
  it('holds the public surface of 0.1: its six entries, the main one with its 173 exports', () => {
    expect(Object.keys(release.entries)).toEqual([
      'nestjs-opaque-keys',
      'nestjs-opaque-keys/swagger',
      'nestjs-opaque-keys/passport',
      'nestjs-opaque-keys/websockets',
      'nestjs-opaque-keys/microservices',
      'nestjs-opaque-keys/admin',
    ]);
    expect(release.entries['nestjs-opaque-keys']).toHaveLength(173);
    expect(release.entries['nestjs-opaque-keys']).toEqual(
      expect.arrayContaining(['ApiKeyModule', 'apiKeyMigrations', 'ApiKeyWebhookLog', 'ApiKeyUsageEntity']),
    );
  });

  it('names every export that left its entry, where it went, and nothing else (row for row)', () => {
    const computed = movedExports(release.entries, now);
    expect(computed.length).toBeGreaterThan(0);
    expect(byKey(mapRows())).toEqual(byKey(computed));
  });

  it('leaves no export of 0.1 unaccounted for: still in its entry, or in the map', () => {
    const mapped = new Set(mapRows().map(({ entry, name }) => `${entry} ${name}`));
    const lost = Object.entries(release.entries).flatMap(([entry, names]) =>
      names.filter((name) => !now[entry]?.includes(name) && !mapped.has(`${entry} ${name}`)),
    );
    expect(lost).toEqual([]);
  });

  it('sends each moved export to an entry that exports it, and says what replaces each removed one', () => {
    for (const row of mapRows()) {
      for (const entry of row.now) expect({ entry, has: now[entry]?.includes(row.name) }).toEqual({ entry, has: true });
      if (row.now.length === 0) expect(row.note.length).toBeGreaterThan(20);
    }
  });

  it("names each option, module extra and ApiKeyService method of 0.1 that is gone (0.1's `usage`, `events`...)", () => {
    const gone = removedMembers(release.members, currentMembers());
    expect(gone.map(({ owner, name }) => `${owner}.${name}`).sort()).toEqual([
      'ApiKeyEventOptions.webhooks',
      'ApiKeyModuleOptions.events',
      'ApiKeyModuleOptions.expiryNotices',
      'ApiKeyModuleOptions.usage',
      'ApiKeyService.usage',
    ]);
    const section = upgradeSection();
    const token: Record<string, (name: string) => string> = {
      ApiKeyModuleOptions: (name) => `\`${name}:`,
      ApiKeyModuleExtras: (name) => `\`${name}:`,
      ApiKeyEventOptions: (name) => `\`events.${name}:`,
      ApiKeyService: (name) => `\`ApiKeyService.${name}(`,
    };
    for (const { owner, name } of gone) expect(section).toContain(token[owner](name));
  });

  it('fails the boot on each option that moved into a feature, naming the feature (not ignored, feature off)', () => {
    const options = removedMembers(release.members, currentMembers()).filter(
      ({ owner }) => owner === 'ApiKeyModuleOptions',
    );
    for (const { name } of options) {
      let error: unknown;
      try {
        new ResolvedApiKeyOptions({ [name]: true } as never);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(ApiKeyConfigurationError);
      expect((error as ApiKeyConfigurationError).option).toBe(name);
      expect((error as Error).message).toMatch(
        /features: \[with[A-Z]\w+\(\.\.\.\)\] from 'nestjs-opaque-keys\/[a-z-]+'/,
      );
    }
    expect(() => new ResolvedApiKeyOptions({ usage: undefined } as never)).not.toThrow();
  });
});
