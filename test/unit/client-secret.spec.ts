import { describe, expect, it } from '@jest/globals';
import { basicClientSecret, postedClientSecret } from '../../lib/features/introspection/index.js';

const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

describe('basicClientSecret (RFC 6749 2.3.1)', () => {
  it('reads the secret after the first colon, form-urldecoded, whatever the client_id', () => {
    expect(basicClientSecret(basic('svc:sk_abc'))).toEqual({ kind: 'secret', secret: 'sk_abc' });
    expect(basicClientSecret(basic('a%3Ab:s%3Ac+d%2B'))).toEqual({ kind: 'secret', secret: 's:c d+' });
    expect(basicClientSecret(basic(':sk_abc'))).toEqual({ kind: 'secret', secret: 'sk_abc' });
    expect(basicClientSecret(`bAsIc \t${Buffer.from('x:y').toString('base64')} `)).toEqual({
      kind: 'secret',
      secret: 'y',
    });
  });

  it('turns a broken Basic value into an empty secret (refused as any bad key), and ignores other schemes', () => {
    for (const broken of ['Basic', 'Basic !!!', basic('no-colon'), basic('x:%zz')]) {
      expect(basicClientSecret(broken)).toEqual({ kind: 'secret', secret: '' });
    }
    for (const other of ['Bearer sk_abc', 'Basically', 'Token x'])
      expect(basicClientSecret(other)).toEqual({ kind: 'not-basic' });
  });
});

describe('postedClientSecret', () => {
  it('reads client_secret from a parsed body, as sent', () => {
    expect(postedClientSecret({ client_id: 'x', client_secret: 'sk_abc' })).toBe('sk_abc');
    expect(postedClientSecret({ client_secret: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(postedClientSecret({ token: 't' })).toBeUndefined();
    expect(postedClientSecret(undefined)).toBeUndefined();
  });
});
