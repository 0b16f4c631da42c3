// `node --import ./test/support/child/ts-register.mjs entry.ts`: see ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
