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
  if (context.getType<string>() !== 'graphql') return context.switchToHttp().getResponse();
  const gql = graphQLContext(context);
  return gql.res ?? gql.reply ?? gql.req?.res;
}
