import { ApiKeyConfigurationError } from '../../api-key.errors.js';

/** The part of `standardwebhooks`' `Webhook` used here. */
interface WebhookLike {
  sign(msgId: string, timestamp: Date, payload: string): string;
}

type WebhookClass = new (secret: string) => WebhookLike;

/** `standardwebhooks`' Webhook class if the host installed the package; no static import. */
async function loadWebhookClass(): Promise<WebhookClass | undefined> {
  const name = 'standardwebhooks';
  try {
    const loaded = (await import(name)) as { Webhook?: WebhookClass; default?: { Webhook?: WebhookClass } };
    return loaded.Webhook ?? loaded.default?.Webhook;
  } catch {
    return undefined;
  }
}

/**
 * Signs deliveries per the Standard Webhooks spec with the `standardwebhooks`
 * package (an optional peer, loaded only when webhooks are configured): one
 * `v1,<base64 HMAC-SHA256>` per secret, space-separated, over
 * `<webhook-id>.<webhook-timestamp>.<body>`.
 */
export class WebhookSigner {
  private constructor(private readonly webhooks: ReadonlyMap<string, WebhookLike>) {}

  /**
   * Loads the package and one signer per secret.
   * @throws ApiKeyConfigurationError when `standardwebhooks` is not installed
   */
  static async load(secrets: readonly string[]): Promise<WebhookSigner> {
    const Webhook = await loadWebhookClass();
    if (!Webhook)
      throw new ApiKeyConfigurationError(
        'nestjs-opaque-keys: events.webhooks needs the standardwebhooks package to sign deliveries: ' +
          'npm install standardwebhooks (or remove events.webhooks).',
      );
    return new WebhookSigner(new Map(secrets.map((secret) => [secret, new Webhook(secret)])));
  }

  /** The `webhook-signature` header of `body` under each of `secrets`. */
  sign(secrets: readonly string[], id: string, at: Date, body: string): string {
    return secrets.map((secret) => this.webhooks.get(secret)!.sign(id, at, body)).join(' ');
  }
}
