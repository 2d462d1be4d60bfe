/**
 * A message to a group of 100: every other member's connection gets it, and the per-member calls
 * (one Query of each member's partition, one unread update per recipient, one delivered cursor per reached one, pushes) are made at most
 * FANOUT_LIMITS.parallelism (16) at a time, never 100 at once.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/stream/delivery.ts';
import { postedFrames } from '../../support/delivery-mocks.ts';
import { conversationInsert, messageInsert, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const GROUP = 'grp_5d1c7a2e-8f3b-4c6d-9e0a-1b2c3d4e5f60';
const MEMBERS = ['alice', ...Array.from({ length: 99 }, (_, i) => `member-${String(i).padStart(2, '0')}`)];
/** The odd members are offline with one device each; the even ones online on one connection. */
const online = (userId: string) => userId === 'alice' || Number(userId.slice(-2)) % 2 === 0;

/** Counts how many calls of one kind are in flight at once; each answers after a macrotask. */
function inFlightCounter() {
  let current = 0;
  const counter = {
    most: 0,
    calls: 0,
    async run<T>(answer: () => T): Promise<T> {
      current += 1;
      counter.calls += 1;
      counter.most = Math.max(counter.most, current);
      await new Promise((resolve) => setImmediate(resolve));
      current -= 1;
      return answer();
    },
  };
  return counter;
}

describe('delivery to a group of 100', () => {
  let queries: ReturnType<typeof inFlightCounter>;
  let updates: ReturnType<typeof inFlightCounter>;
  let publishes: ReturnType<typeof inFlightCounter>;

  beforeEach(() => {
    queries = inFlightCounter();
    updates = inFlightCounter();
    publishes = inFlightCounter();
    ddb.on(GetCommand).resolves({
      Item: { conversationId: GROUP, kind: 'group', members: MEMBERS, title: 'Everyone', createdAt: 'x' },
    });
    ddb
      .on(QueryCommand)
      .callsFake((input: { IndexName?: string; ExpressionAttributeValues: Record<string, string> }) => {
        if (input.IndexName !== undefined) return { Items: [] };
        const userId = String(input.ExpressionAttributeValues[':pk']).slice('USER#'.length);
        return queries.run(() => ({
          Items: online(userId)
            ? [
                {
                  SK: `CONN#conn-${userId}`,
                  connectionId: `conn-${userId}`,
                  connectedAt: '2026-11-23T10:00:00.000Z',
                },
              ]
            : [
                {
                  SK: 'DEVICE#phone',
                  deviceId: 'phone',
                  platform: 'fcm',
                  token: `token-${userId}`,
                  endpointArn: `arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/parley/${userId}`,
                  registeredAt: '2026-11-01T12:00:00.000Z',
                },
              ],
        }));
      });
    ddb.on(UpdateCommand).callsFake((input: { Key: { SK: string } }) =>
      updates.run(() => ({
        Attributes: { userId: input.Key.SK.slice('MEMBER#'.length), lastSeq: 7, readSeq: 0 },
      })),
    );
    ddb.on(PutCommand).resolves({});
    api.on(PostToConnectionCommand).resolves({});
    sns.on(PublishCommand).callsFake(() => publishes.run(() => ({ MessageId: 'm' })));
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it('reaches all 99 other members, with at most 16 Queries, updates and pushes in flight', async () => {
    // WHEN alice (her connection is the origin) writes to the group
    const result = await handler(
      streamEvent(messageInsert({ conversationId: GROUP, originConnectionId: 'conn-alice' })),
    );

    // THEN the 50 online recipients got the frame, the 49 offline ones a push titled by the group
    expect(result).toEqual({ batchItemFailures: [] });
    expect(postedFrames(api, 'message').size).toBe(50);
    expect(publishes.calls).toBe(49);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      Message: expect.stringContaining('Alice Martin · Everyone'),
    });
    // 100 users' partitions, and (1.2) who blocks the sender
    expect(queries.calls).toBe(101);
    // 99 recipients' bookkeeping before the posts, the delivered cursors of the 50 reached ones after
    // them, and the sender's read cursor (sending reads, protocol.md 1.2)
    expect(updates.calls).toBe(150);
    expect(queries.most).toBe(16);
    expect(updates.most).toBe(16);
    expect(publishes.most).toBeLessThanOrEqual(16);
  });

  it('reads the members of a new group at most 16 at a time too', async () => {
    const result = await handler(
      streamEvent(
        conversationInsert({ conversationId: GROUP, members: MEMBERS, originConnectionId: 'conn-alice' }),
      ),
    );

    expect(result).toEqual({ batchItemFailures: [] });
    expect(postedFrames(api).size).toBe(50);
    expect(queries.calls).toBe(100);
    expect(queries.most).toBe(16);
  });
});
