import { Catch, HttpStatus, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { API_KEY_OPTIONS } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import {
  ApiKeyDelegationError,
  ApiKeyError,
  ApiKeyFormatError,
  ApiKeyLimitError,
  ApiKeyNotFoundError,
  ApiKeyStateError,
  ApiKeyStoreUnavailableError,
  ApiKeyValidationError,
} from '../api-key.errors.js';

const STATUS: [new (...args: never[]) => ApiKeyError, HttpStatus, string][] = [
  [ApiKeyValidationError, HttpStatus.BAD_REQUEST, 'Bad Request'],
  [ApiKeyFormatError, HttpStatus.BAD_REQUEST, 'Bad Request'],
  [ApiKeyNotFoundError, HttpStatus.NOT_FOUND, 'Not Found'],
  [ApiKeyStateError, HttpStatus.CONFLICT, 'Conflict'],
  [ApiKeyStoreUnavailableError, HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable'],
  [ApiKeyDelegationError, HttpStatus.FORBIDDEN, 'Forbidden'],
  [ApiKeyLimitError, HttpStatus.CONFLICT, 'Conflict'],
];

/**
 * Maps the service's typed errors to HTTP for admin endpoints: validation 400,
 * not found 404, already revoked/rotated 409, database down 503, delegation
 * refused 403, owner key limit reached 409. Bodies use
 * Nest's usual `{ statusCode, message, error }` shape.
 * @example
 * @UseFilters(ApiKeyExceptionFilter)
 * @Controller('keys')
 * export class KeysController {}
 */
@Catch(ApiKeyError)
export class ApiKeyExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
  ) {}

  catch(exception: ApiKeyError, host: ArgumentsHost): void {
    const [status, error] = (STATUS.find(([type]) => exception instanceof type)?.slice(1) as [HttpStatus, string]) ?? [
      HttpStatus.INTERNAL_SERVER_ERROR,
      'Internal Server Error',
    ];
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse();
    if (status === HttpStatus.SERVICE_UNAVAILABLE)
      httpAdapter.setHeader(response, 'Retry-After', String(this.options.retryAfterSeconds));
    httpAdapter.reply(response, { statusCode: status, message: exception.message, error }, status);
  }
}
