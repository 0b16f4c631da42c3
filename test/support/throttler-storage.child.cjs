// Hosts @nestjs/throttler's real in-memory ThrottlerStorageService in a plain
// Node process (Node >= 20.19 can require the ESM-only @nestjs/common from
// CommonJS; Jest's module loader on Node 20 cannot) and answers increment()
// calls over IPC: a remote storage, as a Redis one would be.
require('reflect-metadata');
const { ThrottlerStorageService } = require('@nestjs/throttler');

const storage = new ThrottlerStorageService();
process.on('message', async ({ id, args }) => {
  try {
    process.send({ id, result: await storage.increment(...args) });
  } catch (error) {
    process.send({ id, error: String(error) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
