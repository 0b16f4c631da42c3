import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ApiKeyPrincipal } from 'nestjs-opaque-keys';
import { SANDBOX_ENVIRONMENT } from '../config/api-keys.options.js';
import type { CreateOrderDto } from './create-order.dto.js';
import type { Order } from './order.js';

/**
 * The tenant a key acts for: its `ownerId`, or, for a key issued without an
 * owner, the key itself (so owner-less keys never see each other's orders).
 */
export function orderOwnerOf(principal: ApiKeyPrincipal): string {
  return principal.ownerId ?? `key:${principal.id}`;
}

/** Whether the key is a test key (`sk_test_...`), which works on sandbox data only. */
export function isSandbox(principal: ApiKeyPrincipal): boolean {
  return principal.environment === SANDBOX_ENVIRONMENT;
}

/**
 * A stand-in for the app's real domain: orders kept in memory. Live orders
 * (a few seeded for the owners `acme` and `globex`) and sandbox orders are
 * two separate stores, so a test key can never read or change live data.
 * Each owner's sandbox starts with one fake order.
 */
@Injectable()
export class OrdersService {
  private readonly live: Order[] = [
    {
      id: randomUUID(),
      ownerId: 'acme',
      item: 'anvil',
      quantity: 1,
      createdAt: new Date('2025-01-15T09:00:00Z'),
      sandbox: false,
    },
    {
      id: randomUUID(),
      ownerId: 'acme',
      item: 'rocket skates',
      quantity: 2,
      createdAt: new Date('2025-02-01T12:30:00Z'),
      sandbox: false,
    },
    {
      id: randomUUID(),
      ownerId: 'globex',
      item: 'hammock',
      quantity: 5,
      createdAt: new Date('2025-03-10T16:45:00Z'),
      sandbox: false,
    },
  ];
  private readonly sandboxes = new Map<string, Order[]>();

  /** The caller's orders, oldest first: live ones for live keys, sandbox ones for test keys. */
  listFor(caller: ApiKeyPrincipal): Order[] {
    const owner = orderOwnerOf(caller);
    return isSandbox(caller) ? [...this.sandboxOf(owner)] : this.live.filter((order) => order.ownerId === owner);
  }

  /** Records a new order for the caller's owner, in the sandbox for test keys. */
  create(caller: ApiKeyPrincipal, input: CreateOrderDto): Order {
    const owner = orderOwnerOf(caller);
    const sandbox = isSandbox(caller);
    const order: Order = {
      id: randomUUID(),
      ownerId: owner,
      item: input.item,
      quantity: input.quantity,
      createdAt: new Date(),
      sandbox,
    };
    (sandbox ? this.sandboxOf(owner) : this.live).push(order);
    return order;
  }

  private sandboxOf(owner: string): Order[] {
    let orders = this.sandboxes.get(owner);
    if (!orders) {
      orders = [
        { id: randomUUID(), ownerId: owner, item: 'sandbox widget', quantity: 1, createdAt: new Date(), sandbox: true },
      ];
      this.sandboxes.set(owner, orders);
    }
    return orders;
  }
}
