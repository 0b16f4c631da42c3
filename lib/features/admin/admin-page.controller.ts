import {
  Controller,
  Get,
  Logger,
  NotFoundException,
  Param,
  Req,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Public } from '../../http/decorators/scopes.decorator.js';
import type { ResolvedAdminOptions } from './admin.options.js';

/** The built files the page is made of, with their content types. Nothing else is served. */
export const ADMIN_ASSETS: Readonly<Record<string, string>> = Object.freeze({
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
});

/**
 * The page's icon, written here rather than built: a page that names none makes the browser ask the host's
 * `/favicon.ico`, whose 404 would be an error in the console of every fresh load.
 */
export const ADMIN_ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">' +
  '<rect width="16" height="16" rx="3" fill="#102a43"/>' +
  '<circle cx="5.5" cy="8" r="2.5" fill="none" stroke="#fff" stroke-width="1.5"/>' +
  '<path d="M8 8h6M12 8v2.5" fill="none" stroke="#fff" stroke-width="1.5"/></svg>';

/** Where the package keeps the built page: `assets/` beside this file (dist/features/admin/assets/). */
export function shippedAssetsDir(): string {
  return fileURLToPath(new URL('./assets/', import.meta.url));
}

function readAssets(dir: string): Map<string, string> | undefined {
  try {
    return new Map(Object.keys(ADMIN_ASSETS).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
  } catch {
    return undefined;
  }
}

/**
 * How the page signs in: `key` (an admin API key typed into its form; the page calls the API only once it has
 * one) or `host` (the host's guard and session: the page asks the API who is signed in as it loads).
 */
export type AdminSignIn = 'key' | 'host';

/** The page's HTML: one stylesheet and one module script from this origin, no inline code. */
export function adminPageHtml(base: string, signIn: AdminSignIn = 'key'): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<title>API keys</title>',
    `<link rel="icon" type="image/svg+xml" href="${base}/assets/icon.svg">`,
    `<link rel="stylesheet" href="${base}/assets/app.css">`,
    `<script type="module" src="${base}/assets/app.js"></script>`,
    '</head>',
    `<body data-api="${base}/api" data-sign-in="${signIn}">`,
    '<div id="app"></div>',
    '<noscript>The API key console needs JavaScript.</noscript>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/**
 * Builds the controller serving the console's page at `<path>` and its two
 * built files at `<path>/assets/app.js|app.css`, read once at boot from the
 * package (no CDN, no build at install time, works offline). The page is
 * `@Public()`: it holds no data; everything it shows comes from the guarded API.
 */
export function createAdminPageController(options: ResolvedAdminOptions): new (...args: never[]) => unknown {
  const dir = options.assetsDir ?? shippedAssetsDir();

  @Controller(options.path)
  @Public()
  class ApiKeyAdminPageController {
    private readonly assets = readAssets(dir);

    constructor(private readonly adapterHost: HttpAdapterHost) {
      if (!this.assets) {
        new Logger('ApiKeyAdminModule').warn(
          `the admin page is not built (no ${Object.keys(ADMIN_ASSETS).join(', ')} in ${dir}): ` +
            'the JSON API works, the page answers 503 until `npm run build` has built it',
        );
      }
    }

    /** The page. Its links follow the path the request came in on, so a global prefix works. */
    @Get()
    page(@Req() request: { originalUrl?: string; url?: string }, @Res({ passthrough: true }) response: unknown) {
      if (!this.assets) throw new ServiceUnavailableException('the admin page is not built: run `npm run build`');
      const path = (request.originalUrl ?? request.url ?? '').split('?')[0].replace(/\/+$/, '');
      const base = /^\/[A-Za-z0-9._~\-/]*$/.test(path) ? path : options.path;
      this.adapterHost.httpAdapter.setHeader(response, 'Content-Type', 'text/html; charset=utf-8');
      return adminPageHtml(base, options.guard ? 'host' : 'key');
    }

    /** The page's icon ({@link ADMIN_ICON_SVG}); served before `assets/:file` takes the name. */
    @Get('assets/icon.svg')
    icon(@Res({ passthrough: true }) response: unknown) {
      this.adapterHost.httpAdapter.setHeader(response, 'Content-Type', 'image/svg+xml');
      return ADMIN_ICON_SVG;
    }

    /** One of the page's built files, with its content type (a string: Nest would send a Buffer as JSON). */
    @Get('assets/:file')
    asset(@Param('file') file: string, @Res({ passthrough: true }) response: unknown) {
      const body = Object.hasOwn(ADMIN_ASSETS, file) ? this.assets?.get(file) : undefined;
      if (!body) throw new NotFoundException();
      this.adapterHost.httpAdapter.setHeader(response, 'Content-Type', ADMIN_ASSETS[file]);
      return body;
    }
  }
  return ApiKeyAdminPageController;
}
