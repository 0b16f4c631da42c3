import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { generateApiKey, parseApiKey, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { bodyLengthFor, KEY_TAG_LENGTH, KeyTagger } from '../../lib/key/index.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const SECRET_1 = 'tag secret number one, 32+ bytes long';
const SECRET_2 = 'tag secret number two, 32+ bytes long';
const TAG_1: ApiKeyModuleOptions['keyTag'] = { secrets: { '1': SECRET_1 }, current: '1' };

/** A key anyone can mint: a random body of the tagged length and a valid (public) CRC32 checksum. */
function forgedKey(): string {
  const key = generateApiKey({ prefix: 'sk', entropyBits: 303 });
  expect(parseApiKey(key).body).toHaveLength(bodyLengthFor(256) + KEY_TAG_LENGTH);
  return key;
}

describe('keyed tag (keyTag option): forged keys never reach the database', () => {
  const apps: TestApp[] = [];
  // One database for the apps of a test (a file on SQLite), so a later app sees the keys of an earlier one.
  const sqliteFile = join(mkdtempSync(join(tmpdir(), 'key-tag-')), 'keys.sqlite');
  const start = async (keyTag: ApiKeyModuleOptions['keyTag'], joinDatabase: boolean) => {
    const options = { controllers: [OrdersController], options: { keyTag }, joinDatabase, sqliteFile };
    const t = await createTestApp(options);
    apps.push(t);
    return t;
  };
  const get = (t: TestApp, key: string) => request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key);

  afterEach(async () => {
    while (apps.length) await apps.pop()!.close();
  });

  it('issues tagged keys that pass in one statement, and refuses forged ones with none and the same 401', async () => {
    const t = await start(TAG_1, false);
    const { key } = await t.service.issue({ name: 'tagged', scopes: ['orders:read'] });
    expect(new KeyTagger(TAG_1!, bodyLengthFor(256)).check('sk', parseApiKey(key).body)).toBe('tagged');
    expect(await t.queries.during(() => get(t, key).expect(200))).toHaveLength(1);

    const unknownUntagged = generateApiKey({ prefix: 'sk' });
    const untaggedRes = await get(t, unknownUntagged).expect(401);
    let forgedRes: request.Response | undefined;
    const statements = await t.queries.during(async () => {
      for (let i = 0; i < 50; i++) forgedRes = await get(t, forgedKey()).expect(401);
    });
    expect(statements).toEqual([]);
    expect(forgedRes!.body).toEqual(untaggedRes.body);
    expect(forgedRes!.headers['www-authenticate']).toBe(untaggedRes.headers['www-authenticate']);
  });

  it('keeps keys issued before the tag working while acceptUntagged is on, and refuses them unread once it is off', async () => {
    const before = await start(undefined, false);
    const { key: legacy } = await before.service.issue({ name: 'legacy', scopes: ['orders:read'] });
    await before.close();
    apps.pop();

    const lenient = await start(TAG_1, true);
    await get(lenient, legacy).expect(200);
    await lenient.close();
    apps.pop();

    const strict = await start({ ...TAG_1!, acceptUntagged: false }, true);
    expect(await strict.queries.during(() => get(strict, legacy).expect(401))).toEqual([]);
  });

  it('rotates the secret: keys tagged with version 1 pass while it is listed, new keys carry version 2', async () => {
    const v1 = await start(TAG_1, false);
    const { key: old } = await v1.service.issue({ name: 'v1', scopes: ['orders:read'] });
    await v1.close();
    apps.pop();

    const both = await start({ secrets: { '1': SECRET_1, '2': SECRET_2 }, current: '2' }, true);
    const { key: fresh } = await both.service.issue({ name: 'v2', scopes: ['orders:read'] });
    expect(parseApiKey(fresh).body[bodyLengthFor(256)]).toBe('2');
    await get(both, old).expect(200);
    await get(both, fresh).expect(200);
    await both.close();
    apps.pop();

    const onlyV2 = await start({ secrets: { '2': SECRET_2 }, current: '2' }, true);
    expect(await onlyV2.queries.during(() => get(onlyV2, old).expect(401))).toEqual([]);
    await get(onlyV2, fresh).expect(200);
  });

  it('a stolen tag secret forges nothing: a well-tagged unknown key still needs its row', async () => {
    const t = await start(TAG_1, false);
    const thief = new KeyTagger(TAG_1!, bodyLengthFor(256));
    const minted = generateApiKey({ prefix: 'sk', tag: (head) => thief.tag(head) });
    expect(await t.queries.during(() => get(t, minted).expect(401))).toHaveLength(1);
  });
});
