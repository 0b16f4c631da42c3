import { Controller, Get } from '@nestjs/common';
import { Public } from 'nestjs-opaque-keys';

/** Liveness probe, open to all: load balancers carry no API key. */
@Controller('health')
export class HealthController {
  /** Always `{ status: 'ok' }` while the process serves requests. */
  @Get()
  @Public()
  check(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
