import { Injectable, type NestMiddleware } from '@nestjs/common';

/**
 * The Content-Security-Policy of the console's page and API: everything from
 * this origin only, no inline script or style, no plugins, no framing, no
 * `<base>` rewriting, forms posting nowhere else.
 */
export const ADMIN_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Every header the console's responses carry (the page, its assets, and every API answer, errors included). */
export const ADMIN_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': ADMIN_CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

/**
 * Sets {@link ADMIN_SECURITY_HEADERS} before any guard runs, so a 401 or 403
 * carries them too. Runs on the raw Node response under Express and Fastify.
 */
@Injectable()
export class AdminSecurityHeadersMiddleware implements NestMiddleware {
  use(_request: unknown, response: { setHeader(name: string, value: string): void }, next: () => void): void {
    for (const [name, value] of Object.entries(ADMIN_SECURITY_HEADERS)) response.setHeader(name, value);
    next();
  }
}
