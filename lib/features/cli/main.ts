#!/usr/bin/env node
/**
 * The `nestjs-opaque-keys` operator CLI (package.json `bin`): issue, list, show,
 * rotate, revoke and re-scope keys in a Nest app's database. See `--help`.
 */
import 'reflect-metadata';
import { runCli } from './cli-program.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
