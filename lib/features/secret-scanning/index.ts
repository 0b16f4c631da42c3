/**
 * Secret-scanning receivers: GitHub's partner program (signed alerts).
 * @module
 */
export * from './github-public-keys.js';
export * from './github-secret-scanning.controller.js';
