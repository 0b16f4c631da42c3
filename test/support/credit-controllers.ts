import { Controller, Get, Post, UseGuards } from '@nestjs/common';
import { ApiKeyGuard, Cost, CurrentApiKey, type ApiKeyPrincipal } from 'nestjs-opaque-keys';

/** Routes with per-route costs: the controller's `@Cost(2)`, overridden per handler. */
@Controller('reports')
@UseGuards(ApiKeyGuard)
@Cost(2)
export class ReportsController {
  /** The controller's cost: 2. */
  @Get()
  list(@CurrentApiKey('remainingUses') remaining: number | null) {
    return { remaining };
  }

  /** The handler wins: 3. */
  @Post()
  @Cost(3)
  create() {
    return { created: true };
  }

  /** Free. */
  @Get('free')
  @Cost(0)
  free(@CurrentApiKey() principal: ApiKeyPrincipal) {
    return { id: principal.id };
  }
}

/** A route with no `@Cost`: one credit. */
@Controller('ping')
@UseGuards(ApiKeyGuard)
export class PingController {
  @Get()
  ping() {
    return { pong: true };
  }
}
