/** Identifiers and timestamps in the formats API Gateway uses, so clients and logs see familiar values. */
import { randomBytes, randomUUID } from 'node:crypto';

/**
 * `L0SM9cOFvHcCIhw=`: 11 random bytes in standard base64 (16 characters ending in `=`), like API
 * Gateway's ids. They may contain `/` and `+`, so callers must URL-encode them, as with AWS.
 */
export function newConnectionId(): string {
  return randomBytes(11).toString('base64');
}

/** Message ids and extended request ids share the connection id's look. */
export const newMessageId = newConnectionId;

export function newRequestId(): string {
  return randomUUID();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `09/Feb/2024:18:11:43 +0000`, the CLF timestamp of `requestContext.requestTime`. */
export function requestTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
