import { Logger } from '@nestjs/common';
import type { ApiKeyLifecycleEvent } from 'nestjs-opaque-keys';
import type { ApiKeyEventListener } from 'nestjs-opaque-keys/events';

const logger = new Logger('KeyEvents');

/** Logs every lifecycle event of a key (type and key id; events never hold the key itself). */
export const keyEventLogger: ApiKeyEventListener = {
  onApiKeyEvent(event: ApiKeyLifecycleEvent): void {
    logger.log(`${event.type} ${event.keyId}${event.actor ? ` by ${event.actor}` : ''}`);
  },
};
