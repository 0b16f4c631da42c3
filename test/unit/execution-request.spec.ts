import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { requestOf, responseOf } from '../../lib/http/index.js';

/** A minimal ExecutionContext of the given type over the given handler arguments. */
function contextOf(type: string, args: unknown[]): ExecutionContext {
  return {
    getType: () => type,
    getArgs: () => args,
    switchToHttp: () => ({ getRequest: () => args[0], getResponse: () => args[1], getNext: () => args[2] }),
  } as unknown as ExecutionContext;
}

describe('requestOf / responseOf', () => {
  const req = { headers: { authorization: 'Bearer x' } };
  const res = { header() {} };

  it('reads HTTP handlers from switchToHttp()', () => {
    const context = contextOf('http', [req, res]);
    expect(requestOf(context)).toBe(req);
    expect(responseOf(context)).toBe(res);
  });

  it('reads Apollo contexts: req, and res when the context passes it', () => {
    expect(requestOf(contextOf('graphql', [{}, {}, { req, res }, {}]))).toBe(req);
    expect(responseOf(contextOf('graphql', [{}, {}, { req, res }, {}]))).toBe(res);
  });

  it("falls back to Express's req.res for Apollo's default context", () => {
    const expressReq = { ...req, res };
    expect(responseOf(contextOf('graphql', [{}, {}, { req: expressReq }, {}]))).toBe(res);
  });

  it('reads Mercurius contexts: reply and reply.request', () => {
    const reply = { request: req, header() {} };
    const context = contextOf('graphql', [{}, {}, { app: {}, reply }, {}]);
    expect(requestOf(context)).toBe(req);
    expect(responseOf(context)).toBe(reply);
  });

  it('gives an empty request (no credential: 401) when the GraphQL context has none', () => {
    expect(requestOf(contextOf('graphql', [{}, {}, undefined, {}]))).toEqual({});
    expect(responseOf(contextOf('graphql', [{}, {}, undefined, {}]))).toBeUndefined();
  });
});
