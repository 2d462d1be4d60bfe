/**
 * Validation of a request body against its zod schema, with the protocol's refusals: the WebSocket routes
 * (ws-route.ts) and the server API (functions/server-api/) answer a bad body the same way.
 */
import type * as z from 'zod/mini';
import { BadRequestError, TooLargeError } from '../domain/errors.ts';

/** `body` as `schema` describes it, or the protocol's refusal: too_large only for fields over their length. */
export function validate<S extends z.ZodMiniType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const describe = issues
    .map((issue) => `${issue.path.join('.') || 'frame'}: ${issueText(issue.code, issue.message)}`)
    .join('; ');
  // too_large only when every problem is a field over its length limit; a missing or mistyped field,
  // or a number out of range, is bad_request.
  const overLength = (issue: (typeof issues)[number]) =>
    issue.code === 'too_big' && (issue.origin === 'string' || issue.origin === 'array');
  if (issues.every(overLength)) throw new TooLargeError(describe);
  throw new BadRequestError(describe);
}

function issueText(code: string, message: string): string {
  switch (code) {
    case 'too_big':
      return 'too long or too large';
    case 'too_small':
      return 'too short or too small';
    case 'invalid_type':
      return 'missing or of the wrong type';
    case 'invalid_format':
      return 'has characters that are not allowed';
    case 'invalid_value':
      return 'not one of the allowed values';
    default:
      return message;
  }
}
