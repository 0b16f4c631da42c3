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

/** The page's HTML: one stylesheet and one module script from this origin, no inline code. */
export function adminPageHtml(base: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<title>API keys</title>',
    `<link rel="stylesheet" href="${base}/assets/app.css">`,
    `<script type="module" src="${base}/assets/app.js"></script>`,
    '</head>',
    `<body data-api="${base}/api">`,
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
      return adminPageHtml(base);
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
