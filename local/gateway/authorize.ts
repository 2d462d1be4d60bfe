/**
 * Runs the `$connect` REQUEST authorizer and reads its answer as API Gateway does: an error with the
 * message `Unauthorized` is 401, a policy that does not allow `execute-api:Invoke` on the method ARN
 * (an explicit Deny, or no matching Allow) is 403, anything else that goes wrong is 500. An allowed
 * connection carries the policy's `context` values and `principalId` on every later event.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import type { AuthorizerHandler } from '../handlers.ts';
import { lambdaContext } from '../lambda-context.ts';
import type { AuthorizerValues, WebSocketAuthorizerEvent } from './events.ts';

export type AuthorizerOutcome =
  | { readonly allowed: true; readonly values: AuthorizerValues }
  | { readonly allowed: false; readonly statusCode: 401 | 403 | 500; readonly reason: string };

/** API Gateway's authorizer timeout. */
const AUTHORIZER_TIMEOUT_MS = 10_000;

export async function authorize(
  handler: AuthorizerHandler,
  event: WebSocketAuthorizerEvent,
): Promise<AuthorizerOutcome> {
  const started = Date.now();
  let result: APIGatewayAuthorizerResult;
  try {
    result = await handler(event, lambdaContext('authorizer', AUTHORIZER_TIMEOUT_MS));
  } catch (error) {
    // The one error message API Gateway turns into 401; every other failure is its 500.
    if (error instanceof Error && error.message === 'Unauthorized') {
      return { allowed: false, statusCode: 401, reason: 'authorizer: Unauthorized' };
    }
    return { allowed: false, statusCode: 500, reason: `authorizer threw ${describe(error)}` };
  }
  return readPolicy(result, event.methodArn, Date.now() - started);
}

export function readPolicy(result: unknown, methodArn: string, latencyMs: number): AuthorizerOutcome {
  if (!isRecord(result) || typeof result.principalId !== 'string' || !isRecord(result.policyDocument)) {
    return { allowed: false, statusCode: 500, reason: 'authorizer returned no principalId/policyDocument' };
  }
  const statements = result.policyDocument.Statement;
  if (!Array.isArray(statements)) {
    return { allowed: false, statusCode: 500, reason: 'authorizer policy has no Statement list' };
  }
  const applicable = statements.filter(
    (statement): statement is Record<string, unknown> =>
      isRecord(statement) &&
      list(statement.Action).some((action) => wildcardMatch(action, 'execute-api:Invoke')) &&
      list(statement.Resource).some((resource) => wildcardMatch(resource, methodArn)),
  );
  if (applicable.some((statement) => statement.Effect === 'Deny')) {
    return { allowed: false, statusCode: 403, reason: 'authorizer policy denies' };
  }
  if (!applicable.some((statement) => statement.Effect === 'Allow')) {
    return { allowed: false, statusCode: 403, reason: 'authorizer policy allows nothing on this method' };
  }
  const context = result.context ?? {};
  if (!isRecord(context) || !Object.values(context).every(isScalar)) {
    // API Gateway refuses nested objects or arrays in the context with a 500.
    return {
      allowed: false,
      statusCode: 500,
      reason: 'authorizer context values must be strings, numbers or booleans',
    };
  }
  return {
    allowed: true,
    values: {
      ...(context as AuthorizerValues),
      principalId: result.principalId,
      integrationLatency: latencyMs,
    },
  };
}

/** IAM-style match: `*` any run of characters, `?` any one character. */
function wildcardMatch(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}

function list(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
