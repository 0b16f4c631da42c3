import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { applyApiKeySecurity } from 'nestjs-opaque-keys/swagger';

/**
 * Serves the OpenAPI document at `/docs` (Swagger UI) and `/docs-json`. Every
 * route the global ApiKeyGuard protects shows the API-key schemes and its
 * scopes, with no Swagger decorator in the controllers. Call before `init()`.
 */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('nestjs-opaque-keys sample: orders API')
    .setDescription('Send a key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, applyApiKeySecurity(app, config)));
}
