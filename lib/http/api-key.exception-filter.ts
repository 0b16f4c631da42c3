import { Catch, HttpStatus, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { API_KEY_OPTIONS } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import { ApiKeyError } from '../api-key.errors.js';
import { API_KEY_ERROR_CODES, type ApiKeyErrorCodeInfo, type ApiKeyErrorStatus } from '../api-key.error-codes.js';

/** The reason phrase of each status of the code table: the body's `error`, as Nest's own exceptions give it. */
const REASON_PHRASES: Readonly<Record<ApiKeyErrorStatus, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The table's entry of an error's code; an unknown code (a subclass outside the library) is a generic 500. */
function entryOf(exception: ApiKeyError): ApiKeyErrorCodeInfo {
  return Object.hasOwn(API_KEY_ERROR_CODES, exception.code)
    ? API_KEY_ERROR_CODES[exception.code]
    : API_KEY_ERROR_CODES.ERR_API_KEY_GENERIC;
}

/**
 * Maps the service's typed errors to HTTP for admin endpoints, by their code
 * through `API_KEY_ERROR_CODES` (docs/errors.md): validation and malformed keys
 * 400, delegation refused 403, not found 404, a key's state or the owner key
 * limit 409, database down 503 (with `Retry-After`), a setup error 500. Bodies
 * use Nest's usual `{ statusCode, message, error }` shape, plus the stable
 * `code`. A 5xx's message is the code's public title; its own message goes to
 * the log (a 500's) and never to the client.
 * @example
 * @UseFilters(ApiKeyExceptionFilter)
 * @Controller('keys')
 * export class KeysController {}
 */
@Catch(ApiKeyError)
export class ApiKeyExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiKeyExceptionFilter');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
  ) {}

  catch(exception: ApiKeyError, host: ArgumentsHost): void {
    const entry = entryOf(exception);
    const status = entry.status;
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse();
    if (status === HttpStatus.SERVICE_UNAVAILABLE)
      httpAdapter.setHeader(response, 'Retry-After', String(this.options.retryAfterSeconds));
    if (status === HttpStatus.INTERNAL_SERVER_ERROR) this.logger.error(exception.message, exception.stack);
    const code = entry === API_KEY_ERROR_CODES.ERR_API_KEY_GENERIC ? 'ERR_API_KEY_GENERIC' : exception.code;
    const message = status >= 500 ? entry.title : exception.message;
    httpAdapter.reply(response, { statusCode: status, message, error: REASON_PHRASES[status], code }, status);
  }
}
