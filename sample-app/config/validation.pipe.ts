import { ValidationPipe } from '@nestjs/common';

/**
 * The app-wide request validation: unknown fields are refused (400), query
 * strings are converted to the DTOs' types, and every message is listed.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
  });
}
