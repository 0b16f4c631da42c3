import { createHash } from 'node:crypto';
import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { DataSource, type Repository } from 'typeorm';
import { SCOPES_METADATA } from '../lib/api-key.constants.js';
import type { ApiKeyColumns } from '../lib/storage/index.js';
import { SCOPE } from './config.js';

function bearer(context: ExecutionContext): { request: Record<string, any>; token: string } {
  const request = context.switchToHttp().getRequest();
  const [type, token] = request.headers.authorization?.split(' ') ?? [];
  if (type !== 'Bearer' || !token) throw new UnauthorizedException();
  return { request, token };
}

/**
 * A guard that does nothing but pass: what binding any guard to a route costs
 * in Nest (guard consumer, execution context), the floor of every other variant.
 */
@Injectable()
export class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

/**
 * The floor a real guard is measured against: reads the `Authorization` header,
 * compares its scheme with a fixed string and reads the route's required scopes
 * (Nest's `Reflector`), then passes. No credential is checked.
 */
@Injectable()
export class NoopCheckGuard implements CanActivate {
  private readonly reflector = new Reflector();

  canActivate(context: ExecutionContext): boolean {
    const header: string | undefined = context.switchToHttp().getRequest().headers.authorization;
    if (header === undefined || header.slice(0, 7) !== 'Bearer ') throw new UnauthorizedException();
    const scopes = this.reflector.get<unknown>(SCOPES_METADATA, context.getHandler());
    if (scopes === undefined) throw new UnauthorizedException();
    return true;
  }
}

/**
 * A guard that reads the `Authorization` header as {@link NoopCheckGuard} does, then refuses every request with
 * the 401 of an unknown key (`WWW-Authenticate` and all): what any refusal costs Nest, the floor a forged-key
 * flood is compared with.
 */
@Injectable()
export class NoopRefuseGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { headers } = context.switchToHttp().getRequest();
    const response = context.switchToHttp().getResponse();
    if (typeof headers.authorization === 'string' && headers.authorization.startsWith('Bearer '))
      response.setHeader('WWW-Authenticate', 'Bearer realm="api", error="invalid_token"');
    throw new UnauthorizedException('Invalid API key');
  }
}

/** The same, `async`: what awaiting a guard's promise adds. */
@Injectable()
export class NoopAsyncGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    return true;
  }
}

/**
 * The JWT guard of the NestJS authentication guide: `verifyAsync` with the
 * module's secret (HS256), plus the same scope check the library makes.
 */
@Injectable()
export class JwtBenchGuard implements CanActivate {
  constructor(private readonly jwt: JwtService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { request, token } = bearer(context);
    let payload: { sub: string; scopes?: string[] };
    try {
      payload = await this.jwt.verifyAsync(token);
    } catch {
      throw new UnauthorizedException();
    }
    if (!payload.scopes?.includes(SCOPE)) throw new UnauthorizedException();
    request.user = payload;
    return true;
  }
}

/** The entity the hand-rolled guard reads; set by the server before the app starts. */
export const handRolledEntity: { current?: typeof ApiKeyColumns } = {};

/**
 * What people write by hand: SHA-256 with `createHash`, then a TypeORM
 * `findOne` by hash (whole entity), then the same checks as the library.
 */
@Injectable()
export class HandRolledGuard implements CanActivate {
  private readonly keys: Repository<ApiKeyColumns>;

  constructor(dataSource: DataSource) {
    this.keys = dataSource.getRepository(handRolledEntity.current!);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { request, token } = bearer(context);
    const hash = createHash('sha256').update(token).digest('hex');
    const key = await this.keys.findOne({ where: { hash } });
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= Date.now()))
      throw new UnauthorizedException();
    if (!key.scopes.includes(SCOPE)) throw new UnauthorizedException();
    request.user = key;
    return true;
  }
}
