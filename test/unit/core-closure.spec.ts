import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The files of lib/ that importing the main entry loads at run time (packages left external). */
async function mainEntryClosure(): Promise<string[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['lib/index.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).filter((file) => file.startsWith('lib/'));
}

describe('the main entry (nestjs-opaque-keys) is the core alone', () => {
  it('loads no file of any feature, and stays about the size of the core', async () => {
    const files = await mainEntryClosure();
    expect(files.filter((file) => file.startsWith('lib/features/'))).toEqual([]);
    // The core today: 76 files (docs/architecture.md, "Figures"). A jump means something leaked in.
    expect(files.length).toBeGreaterThan(40);
    expect(files.length).toBeLessThanOrEqual(80);
  });
});
