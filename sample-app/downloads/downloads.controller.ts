import { Controller, Get, Header } from '@nestjs/common';
import { CurrentApiKey, Scopes, type ApiKeyPrincipal } from 'nestjs-opaque-keys';
import type { Order } from '../orders/order.js';
import { OrdersService } from '../orders/orders.service.js';

/** One CSV field: quoted, and defused if a spreadsheet would read it as a formula. */
function csvField(value: string | number | boolean): string {
  const text = String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

function toCsv(orders: Order[]): string {
  const rows = orders.map((o) =>
    [o.id, o.item, o.quantity, o.createdAt.toISOString(), o.sandbox].map(csvField).join(','),
  );
  return ['id,item,quantity,createdAt,sandbox', ...rows].join('\r\n') + '\r\n';
}

/**
 * Downloads for keys with `downloads:read`, made for single-use keys
 * (`POST /keys` with `"maxUses": 1`): hand a one-off key to whoever should
 * fetch the report once; a second try is the same 401 as any invalid key.
 */
@Controller('downloads')
@Scopes('downloads:read')
export class DownloadsController {
  constructor(private readonly orders: OrdersService) {}

  /** The caller's orders as CSV (sandbox orders for test keys). */
  @Get('report')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @Header('Content-Disposition', 'attachment; filename="orders-report.csv"')
  @Header('Cache-Control', 'no-store')
  report(@CurrentApiKey() caller: ApiKeyPrincipal): string {
    return toCsv(this.orders.listFor(caller));
  }
}
