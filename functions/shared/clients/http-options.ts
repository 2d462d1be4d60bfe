/**
 * Connection and request timeouts shared by every AWS SDK client, so that no call can hang until the
 * Lambda's own timeout (10 s for routes, 60 s for delivery) kills the invocation without an answer or a
 * failure report. DynamoDB, `@connections` and SNS answer in milliseconds; a call that takes seconds is
 * failing, and the SDK's standard retries (3 attempts) are better spent on a fresh connection.
 * A connection gets 3 s: in AWS it takes milliseconds, but the local stack's DynamoDB Local, a JVM on a
 * developer's laptop, can take over a second to accept a burst of new sockets. An unreachable endpoint
 * (3 attempts × 3 s) or a hanging service (3 × 2 s) still fails inside the route Lambdas' 10 s.
 * `throwOnRequestTimeout`: without it the SDK's handler only logs a warning when `requestTimeout` passes.
 */
export const CLIENT_HTTP_OPTIONS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
} as const;
