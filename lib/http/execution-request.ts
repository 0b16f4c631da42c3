import type { ExecutionContext } from '@nestjs/common';

/**
 * The per-request context object of a GraphQL operation: the third resolver
 * argument. Apollo puts the HTTP request in `req` (and `res` when the app's
 * `context` function passes it); Mercurius puts Fastify's `reply` (with
 * `reply.request`) there.
 */
interface GraphQLRequestContext {
  req?: Record<string, any>;
  res?: Record<string, any>;
  request?: Record<string, any>;
  reply?: Record<string, any> & { request?: Record<string, any> };
}

function graphQLContext(context: ExecutionContext): GraphQLRequestContext {
  return (context.getArgs()[2] ?? {}) as GraphQLRequestContext;
}

/**
 * The HTTP request behind an execution context: the Express/Fastify request for
 * HTTP handlers, and the request in the GraphQL context for resolvers
 * (`req` for Apollo, `reply.request` for Mercurius). Needs no GraphQL package.
 */
export function requestOf(context: ExecutionContext): Record<string, any> {
  if (context.getType<string>() !== 'graphql') return context.switchToHttp().getRequest();
  const gql = graphQLContext(context);
  return gql.req ?? gql.request ?? gql.reply?.request ?? {};
}

/**
 * The HTTP response behind an execution context, to set challenge headers on:
 * for resolvers the GraphQL context's `res` (Apollo with a `context` that
 * passes it), `reply` (Mercurius), or Express's `req.res`.
 */
export function responseOf(context: ExecutionContext): Record<string, any> | undefined {
  const type = context.getType<string>();
  if (type === 'ws' || type === 'rpc') return undefined;
  if (type !== 'graphql') return context.switchToHttp().getResponse();
  const gql = graphQLContext(context);
  return gql.res ?? gql.reply ?? gql.req?.res;
}

/**
 * The identity of one HTTP exchange: the in-flight response (Node's
 * `ServerResponse`, the raw one under a Fastify reply) that belongs to this
 * request, or `undefined` when there is none: a WebSocket or RPC context, a
 * GraphQL subscription, a WebSocket upgrade request reused for every
 * operation, an ended response. Only an exchange may share a guard verdict
 * between the guards that run for it.
 */
export function httpExchangeOf(
  context: ExecutionContext,
  request: Record<string, any>,
  response: Record<string, any> | undefined,
): object | undefined {
  const type = context.getType<string>();
  if (type !== 'http' && type !== 'graphql') return undefined;
  if (type === 'graphql' && context.getArgs()[3]?.operation?.operation === 'subscription') return undefined;
  const raw = response?.raw ?? response;
  if (!raw || raw.writableEnded !== false) return undefined;
  // Node's ServerResponse knows its request: it must be this one.
  if (raw.req !== (request.raw ?? request)) return undefined;
  return raw;
}
