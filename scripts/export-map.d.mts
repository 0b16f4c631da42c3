/** Types of scripts/export-map.mjs, for the unit test that holds CHANGELOG.md's map to it. */

/** Export names by entry (`nestjs-opaque-keys`, `nestjs-opaque-keys/<name>`). */
export type EntryExports = Record<string, string[]>;

/** Public member names by declaration (`ApiKeyModuleOptions`, `ApiKeyModuleExtras`, `ApiKeyService`, ...). */
export type Members = Record<string, string[]>;

/** An export its entry no longer has, and the entries that export that name now. */
export interface MovedExport {
  entry: string;
  name: string;
  now: string[];
}

export const RELEASE_0_1_COMMIT: string;
export const PACKAGE: string;
export function exportedNames(file: string, read: (path: string) => string | undefined): string[];
export function membersOf(file: string, name: string, read: (path: string) => string | undefined): string[];
export function currentExports(): EntryExports;
export function currentMembers(): Members;
export function release01Surface(): { entries: EntryExports; members: Members };
export function release01Snapshot(): { entries: EntryExports; members: Members };
export function movedExports(before: EntryExports, after: EntryExports): MovedExport[];
export function removedMembers(before: Members, after: Members): { owner: string; name: string }[];
