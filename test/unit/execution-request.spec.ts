import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { httpExchangeOf, requestOf, responseOf } from '../../lib/http/index.js';

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

describe('httpExchangeOf: who may share a guard verdict', () => {
  /** A request and its response as Node's server makes them (not connected: nothing is sent). */
  function exchange(ended = false) {
    const request = new IncomingMessage(new Socket());
    const response = new ServerResponse(request);
    if (ended) response.finished = true; // what `end()` sets: `writableEnded` reads it
    return { request: request as unknown as Record<string, any>, response: response as unknown as Record<string, any> };
  }

  it('is the in-flight response of this very request, over HTTP and GraphQL queries', () => {
    const { request, response } = exchange();
    expect(httpExchangeOf(contextOf('http', [request, response]), request, response)).toBe(response);
    const fastifyRequest = { raw: request };
    const reply = { raw: response };
    expect(httpExchangeOf(contextOf('http', [fastifyRequest, reply]), fastifyRequest, reply)).toBe(response);
    const info = { operation: { operation: 'query' } };
    expect(httpExchangeOf(contextOf('graphql', [{}, {}, { req: request }, info]), request, response)).toBe(response);
  });

  it('is nothing for sockets, messages, subscriptions, upgrade requests, ended or foreign responses', () => {
    const { request, response } = exchange();
    expect(httpExchangeOf(contextOf('ws', [request, {}]), request, response)).toBeUndefined();
    expect(httpExchangeOf(contextOf('rpc', [request, {}]), request, response)).toBeUndefined();
    const subscription = { operation: { operation: 'subscription' } };
    expect(
      httpExchangeOf(contextOf('graphql', [{}, {}, { req: request }, subscription]), request, response),
    ).toBeUndefined();
    expect(httpExchangeOf(contextOf('graphql', [{}, {}, { req: request }, {}]), request, undefined)).toBeUndefined();
    const ended = exchange(true);
    expect(httpExchangeOf(contextOf('http', [ended.request, ended.response]), ended.request, ended.response)).toBe(
      undefined,
    );
    const other = exchange();
    expect(httpExchangeOf(contextOf('http', [request, other.response]), request, other.response)).toBeUndefined();
    // An object that only looks like a response (a GraphQL context built by the host, say) is none.
    const lookalike = { writableEnded: false, req: request };
    expect(httpExchangeOf(contextOf('http', [request, lookalike]), request, lookalike)).toBeUndefined();
  });
});
