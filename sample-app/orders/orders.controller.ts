import { Body, Controller, Get, Post } from '@nestjs/common';
import { CurrentApiKey, Scopes, type ApiKeyPrincipal } from 'nestjs-opaque-keys';
import { CreateOrderDto } from './create-order.dto.js';
import type { Order } from './order.js';
import { OrdersService } from './orders.service.js';

/**
 * Orders of the calling key's owner. The global `ApiKeyGuard` has already
 * checked the key and its scopes when a handler runs. Test keys
 * (`sk_test_...`) work on a sandbox: every order they see is `sandbox: true`.
 * @example
 * curl -H "Authorization: Bearer sk_live_..." http://localhost:3000/orders
 */
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /** The caller's orders. Needs `orders:read`. */
  @Get()
  @Scopes('orders:read')
  list(@CurrentApiKey() caller: ApiKeyPrincipal): Order[] {
    return this.orders.listFor(caller);
  }

  /** Places an order for the caller's owner. Needs `orders:write`. */
  @Post()
  @Scopes('orders:write')
  create(@CurrentApiKey() caller: ApiKeyPrincipal, @Body() body: CreateOrderDto): Order {
    return this.orders.create(caller, body);
  }
}
