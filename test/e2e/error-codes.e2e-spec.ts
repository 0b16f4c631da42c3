import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, ParseIntPipe, UseFilters } from '@nestjs/common';
import request from 'supertest';
import { API_KEY_ERROR_CODES, ApiKeyError, ApiKeyExceptionFilter } from 'nestjs-opaque-keys';
import { everyApiKeyError } from '../support/error-samples.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * `ApiKeyExceptionFilter` in a real app (Express, or Fastify with HTTP_PLATFORM): every error class and reason
 * of the library, thrown by a handler, answers with the status of its code in `API_KEY_ERROR_CODES`, the code in
 * the body, its message for a 4xx and only the code's title for a 5xx (whose own message goes to the log).
 */
const errors = everyApiKeyError();

/** An error of a host's own, derived from the library's base class without a code of its own. */
class HostError extends ApiKeyError {
  override readonly name: string = 'HostError';
}

@Controller('errors')
@UseFilters(ApiKeyExceptionFilter)
class ThrowingController {
  @Get('host')
  host(): never {
    throw new HostError('the billing replica at 10.0.0.9 lags');
  }

  @Get(':index')
  throw(@Param('index', ParseIntPipe) index: number): never {
    throw errors[index];
  }
}

describe('ApiKeyExceptionFilter maps errors by their code', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [ThrowingController], options: { retryAfterSeconds: 7 } });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(errors.map((error, index) => [error.code, index] as const))('%s', async (code, index) => {
    const error = errors[index];
    const { status, title } = API_KEY_ERROR_CODES[code];
    const res = await request(t.app.getHttpServer()).get(`/errors/${index}`);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({
      statusCode: status,
      message: status >= 500 ? title : error.message,
      error: expect.any(String),
      code,
    });
    expect(res.headers['retry-after']).toBe(status === 503 ? '7' : undefined);
  });

  it('answers with the HTTP reason phrase in `error`, as Nest does', async () => {
    const phrases = new Map<number, string>();
    for (const [index, error] of errors.entries()) {
      const res = await request(t.app.getHttpServer()).get(`/errors/${index}`);
      phrases.set(API_KEY_ERROR_CODES[error.code].status, res.body.error);
    }
    expect(Object.fromEntries(phrases)).toEqual({
      400: 'Bad Request',
      403: 'Forbidden',
      404: 'Not Found',
      409: 'Conflict',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
    });
  });

  it("keeps a 500's own message out of the body and in the log", async () => {
    const setup = errors.findIndex((error) => error.code === 'ERR_API_KEY_CONFIGURATION');
    const res = await request(t.app.getHttpServer()).get(`/errors/${setup}`).expect(500);
    expect(JSON.stringify(res.body)).not.toContain('billing_private');
    expect(t.logs.lines.some((line) => line.startsWith('error') && line.includes('billing_private'))).toBe(true);
  });

  it("maps a host's subclass without a code of its own to the generic code, a 500", async () => {
    const res = await request(t.app.getHttpServer()).get('/errors/host').expect(500);
    expect(res.body).toEqual({
      statusCode: 500,
      message: 'API key error',
      error: 'Internal Server Error',
      code: 'ERR_API_KEY_GENERIC',
    });
    expect(JSON.stringify(res.body)).not.toContain('10.0.0.9');
  });
});
