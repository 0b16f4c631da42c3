import { BadRequestException, Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';

/** The one answer to a body that cannot be parsed: it says nothing of the body. */
export const UNPARSABLE_BODY_MESSAGE = 'Request body is not valid JSON';

/**
 * Answers a request body the JSON parser refused without echoing it. Nest
 * passes the parser's message on, and that message quotes the body's first
 * characters (`Unexpected token 's', "sk_live_ab"... is not valid JSON`): a key
 * pasted into the body would come back in the response, and into any log of
 * responses. Every other exception goes to Nest's own handling.
 */
@Catch(BadRequestException)
export class BodyParseErrorFilter extends BaseExceptionFilter {
  override catch(exception: BadRequestException, host: ArgumentsHost): void {
    const cause = exception.cause as { type?: unknown } | undefined;
    // body-parser marks its failures with a type: entity.parse.failed for invalid JSON.
    if (!(cause instanceof SyntaxError) || cause.type !== 'entity.parse.failed') return super.catch(exception, host);
    super.catch(new BadRequestException(UNPARSABLE_BODY_MESSAGE), host);
  }
}
