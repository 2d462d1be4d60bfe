/**
 * The operators' domain functions, with DynamoDB and the management API mocked: the exact writes to
 * the user's standing, which connections are closed (and forgotten), and idempotence.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deactivateUser,
  reactivateUser,
  revokeSessions,
  revokeToken,
} from '../../../functions/domain/operations.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const NOW = new Date('2026-12-02T10:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;

const connection = (connectionId: string, jti?: string) => ({
  PK: 'USER#zoe',
  SK: `CONN#${connectionId}`,
  type: 'connection',
  connectionId,
  userId: 'zoe',
  connectedAt: '2026-12-02T09:00:00.000Z',
  ...(jti !== undefined && { jti }),
});

beforeEach(() => {
  ddb.on(UpdateCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  ddb.on(DeleteCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [connection('zoePhone001='), connection('zoeTablet01=', 'tok-1')] });
  api.on(DeleteConnectionCommand).resolves({});
});

afterEach(() => {
  ddb.reset();
  api.reset();
});

const closed = () =>
  api
    .commandCalls(DeleteConnectionCommand)
    .map((call) => call.args[0].input.ConnectionId)
    .sort();

describe('operations', () => {
  it('deactivate marks the user and closes and forgets every open connection', async () => {
    const result = await deactivateUser('zoe', 'ops@example', NOW);

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { PK: 'USER#zoe', SK: 'STATE' },
      UpdateExpression: 'SET deactivated = :deactivated, changedAt = :at, #type = :type, userId = :user',
      ExpressionAttributeValues: {
        ':deactivated': true,
        ':at': NOW.toISOString(),
        ':type': 'userState',
        ':user': 'zoe',
      },
    });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: { ':pk': 'USER#zoe', ':conn': 'CONN#' },
      ConsistentRead: true,
    });
    expect(closed()).toEqual(['zoePhone001=', 'zoeTablet01=']);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { PK: 'USER#zoe', SK: 'CONN#zoePhone001=' },
    });
    expect(result).toEqual({ operation: 'deactivate', userId: 'zoe', closed: 2, at: NOW.toISOString() });
  });

  it('a connection already gone is fine: the operation still succeeds', async () => {
    api.on(DeleteConnectionCommand).rejects(new GoneException({ message: 'gone', $metadata: {} }));

    await expect(deactivateUser('zoe', 'ops@example', NOW)).resolves.toMatchObject({ closed: 2 });
  });

  it('reactivate clears the flag and closes nothing', async () => {
    await reactivateUser('zoe', 'ops@example', NOW);

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ':deactivated': false }),
    });
    expect(api).not.toHaveReceivedCommand(DeleteConnectionCommand);
  });

  it('revoke sessions moves the revocation forward only, and closes every connection', async () => {
    await revokeSessions('zoe', 'ops@example', NOW);

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: 'SET sessionsRevokedAt = :revokedAt, changedAt = :at, #type = :type, userId = :user',
      ConditionExpression: 'attribute_not_exists(sessionsRevokedAt) OR sessionsRevokedAt < :revokedAt',
      ExpressionAttributeValues: expect.objectContaining({ ':revokedAt': NOW_S }),
    });
    expect(closed()).toHaveLength(2);
  });

  it('revoking sessions again at the same moment is not an error', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));

    await expect(revokeSessions('zoe', 'ops@example', NOW)).resolves.toMatchObject({
      operation: 'revokeSessions',
    });
  });

  it('revoke one token refuses it until its own expiry and closes only its connections', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { PK: 'JTI#tok-1', SK: 'USE', userId: 'zoe', expiresAt: NOW_S + 3600 } });

    const result = await revokeToken('tok-1', 'ops@example', NOW);

    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { PK: 'JTI#tok-1', SK: 'USE' },
      ConsistentRead: true,
    });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      Item: {
        PK: 'JTI#tok-1',
        SK: 'JTI',
        type: 'revokedToken',
        revokedAt: NOW.toISOString(),
        expiresAt: NOW_S + 3600,
      },
    });
    expect(closed()).toEqual(['zoeTablet01=']);
    expect(result).toMatchObject({ userId: 'zoe', jti: 'tok-1', closed: 1 });
  });

  it('revoke a token no connection used: refused for 30 days, nothing to close', async () => {
    ddb.on(GetCommand).resolves({});

    await expect(revokeToken('tok-unseen', 'ops@example', NOW)).resolves.toMatchObject({ closed: 0 });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ PK: 'JTI#tok-unseen', expiresAt: NOW_S + 30 * 24 * 3600 }),
    });
    expect(api).not.toHaveReceivedCommand(DeleteConnectionCommand);
  });
});
