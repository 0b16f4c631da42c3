import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Builds the admin console's page (esbuild, well under a second) into a fresh
 * temporary directory and returns it, for `ApiKeyAdminModule.forRoot({ assetsDir })`:
 * each suite gets its own copy, so parallel suites never read a half-written file.
 */
export function buildAdminAssets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'admin-assets-'));
  execFileSync(process.execPath, [join(process.cwd(), 'scripts/build-admin-ui.mjs'), dir], { stdio: 'pipe' });
  return dir;
}
