import { Logger } from '@nestjs/common';
import type { ApiKeyLifecycleEvent } from 'nestjs-opaque-keys';
import { asApiKeyAlert } from 'nestjs-opaque-keys/alerts';
import type { ApiKeyEventListener } from 'nestjs-opaque-keys/events';

const logger = new Logger('KeyEvents');

/**
 * Logs every lifecycle event of a key (type and key id; events never hold the key itself), and every threshold
 * alert with its figure and threshold.
 */
export const keyEventLogger: ApiKeyEventListener = {
  onApiKeyEvent(event: ApiKeyLifecycleEvent): void {
    const alert = asApiKeyAlert(event);
    if (alert) {
      const { figure, threshold } = alert.details;
      logger.warn(`${alert.type} ${alert.keyId} of ${alert.ownerId ?? 'no owner'}: ${figure} (threshold ${threshold})`);
      return;
    }
    logger.log(`${event.type} ${event.keyId}${event.actor ? ` by ${event.actor}` : ''}`);
  },
};
