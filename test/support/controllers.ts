import { Controller, Get, Headers, Inject, Post, Query, UseGuards } from '@nestjs/common';
import {
  AnyScope,
  ApiKeyGuard,
  ApiKeyService,
  CurrentApiKey,
  OptionalApiKey,
  Public,
  Scopes,
  type ApiKeyPrincipal,
} from 'nestjs-opaque-keys';

/** Routes guarded per controller with `@UseGuards(ApiKeyGuard)`. */
@Controller('orders')
@UseGuards(ApiKeyGuard)
export class OrdersController {
  @Get()
  @Scopes('orders:read')
  list(@CurrentApiKey() principal: ApiKeyPrincipal) {
    return { principal };
  }

  @Post()
  @Scopes('orders:read', 'orders:write')
  create() {
    return { created: true };
  }

  @Get('either')
  @AnyScope('orders:read', 'orders:admin')
  either() {
    return { ok: true };
  }

  @Get('owner')
  owner(@CurrentApiKey('ownerId') ownerId: string | null) {
    return { ownerId };
  }

  @Get('open')
  @Public()
  open(@CurrentApiKey() principal?: ApiKeyPrincipal) {
    return { open: true, principal: principal ?? null };
  }
}

/** A controller-level requirement combined with a handler-level one. */
@Controller('refunds')
@UseGuards(ApiKeyGuard)
@Scopes('billing')
export class RefundsController {
  @Post()
  @Scopes('orders:refund')
  refund() {
    return { refunded: true };
  }
}

/** Routes without `@UseGuards`: protected only when the guard is installed globally. */
@Controller('global')
export class GlobalController {
  @Get('private')
  secret(@CurrentApiKey('id') id: string) {
    return { id };
  }

  @Get('health')
  @Public()
  health() {
    return { status: 'ok' };
  }
}

/** A route where the key is optional (another guard may admit the request). */
@Controller('maybe')
@UseGuards(ApiKeyGuard)
@OptionalApiKey()
export class OptionalKeyController {
  @Get()
  @Scopes('reports:read')
  maybe(@CurrentApiKey('id') id?: string) {
    return { id: id ?? null };
  }
}

/** `POST /keys/self/rotate`: a key rotates itself (as the sample app's self-service route), through the guard. */
@Controller('keys/self')
@UseGuards(ApiKeyGuard)
export class SelfRotateController {
  constructor(@Inject(ApiKeyService) private readonly keys: ApiKeyService) {}

  @Post('rotate')
  rotate(@Headers('x-api-key') key: string, @Query('graceMs') graceMs?: string) {
    return this.keys.rotateByKey(key, { gracePeriodMs: Number(graceMs ?? 0) });
  }
}
