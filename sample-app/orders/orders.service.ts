import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ApiKeyPrincipal } from 'nestjs-api-keys';
import type { CreateOrderDto } from './create-order.dto.js';
import type { Order } from './order.js';

/**
 * The tenant a key acts for: its `ownerId`, or, for a key issued without an
 * owner, the key itself (so owner-less keys never see each other's orders).
 */
export function orderOwnerOf(principal: ApiKeyPrincipal): string {
  return principal.ownerId ?? `key:${principal.id}`;
}

/**
 * A stand-in for the app's real domain: orders kept in memory, a few of them
 * seeded for the owners `acme` and `globex`.
 */
@Injectable()
export class OrdersService {
  private readonly orders: Order[] = [
    { id: randomUUID(), ownerId: 'acme', item: 'anvil', quantity: 1, createdAt: new Date('2025-01-15T09:00:00Z') },
    { id: randomUUID(), ownerId: 'acme', item: 'rocket skates', quantity: 2, createdAt: new Date('2025-02-01T12:30:00Z') },
    { id: randomUUID(), ownerId: 'globex', item: 'hammock', quantity: 5, createdAt: new Date('2025-03-10T16:45:00Z') },
  ];

  /** The owner's orders, oldest first. */
  listFor(ownerId: string): Order[] {
    return this.orders.filter((order) => order.ownerId === ownerId);
  }

  /** Records a new order for the owner. */
  create(ownerId: string, input: CreateOrderDto): Order {
    const order: Order = { id: randomUUID(), ownerId, item: input.item, quantity: input.quantity, createdAt: new Date() };
    this.orders.push(order);
    return order;
  }
}
