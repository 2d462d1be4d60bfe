/**
 * Lambda entry of the `$connect` REQUEST authorizer. API Gateway semantics: an `Unauthorized` error is a
 * 401, a Deny policy a 403, any other error a 500. The Allow policy's context carries who is calling to
 * every route (`requestContext.authorizer`), so no route reads the database to learn it.
 *
 * Throwing `Unauthorized` is how API Gateway is told to answer 401, so Lambda counts every expired or
 * revoked token as a function error: the authorizer's `Errors` metric measures traffic, not health.
 * What this handler counts instead: ConnectionsRefused{Reason} for each refusal (ordinary, graphed)
 * and AuthorizerFailures when it could not decide at all (ours, alarmed on).
 */
import { logger, withLogKeys } from '../shared/logger.ts';
import { countMetric } from '../shared/metrics.ts';
import { authorize } from './authorize.ts';
import { readAuthConfig } from './config.ts';
import type { ConnectAuthorizerResult, WebSocketConnectAuthorizerEvent } from './event.ts';
import { createVerifier } from './verifier.ts';

const verify = createVerifier(readAuthConfig());

export function handler(event: WebSocketConnectAuthorizerEvent): Promise<ConnectAuthorizerResult> {
  const { connectionId, requestId } = event.requestContext;
  return withLogKeys({ connectionId, requestId, route: '$connect' }, async () => {
    const decision = await authorize(event, verify).catch((error: unknown) => {
      // DynamoDB, the JWKS or the secret failed: API Gateway answers 500, the client may retry.
      logger.error('authorizer failed', { error });
      countMetric('AuthorizerFailures', {});
      throw error;
    });
    if (decision.outcome === 'refuse') {
      const { reason, userId, tokenSource, detail } = decision;
      logger.info('connection refused', { status: 401, reason, userId, tokenSource, detail });
      countMetric('ConnectionsRefused', { Reason: reason });
      throw new Error('Unauthorized');
    }
    const { userId, name, deviceId, jti, expiresAt } = decision.identity;
    if (decision.outcome === 'deny') {
      logger.info('connection refused', { status: 403, reason: 'deactivated', userId });
      countMetric('ConnectionsRefused', { Reason: 'deactivated' });
      return policy(userId, 'Deny', event.methodArn);
    }
    logger.info('connection authorized', { userId, deviceId, tokenSource: decision.tokenSource });
    // jti and exp let `$connect` note which token a connection stands on, so revoking it can close it.
    const context = { userId, name, deviceId, jti: jti ?? '', tokenExpiresAt: expiresAt ?? 0 };
    return { ...policy(userId, 'Allow', event.methodArn), context };
  });
}

function policy(userId: string, effect: 'Allow' | 'Deny', methodArn: string): ConnectAuthorizerResult {
  return {
    principalId: userId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: methodArn }],
    },
  };
}
