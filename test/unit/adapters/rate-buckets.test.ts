/**
 * The GCRA rate bucket: one conditional UpdateItem per request in the likely case, the other case
 * decided from the bucket a failed condition returns (no extra read), a refusal with how long to wait,
 * and a hint per container of which case to try first.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdmit } from '../../../functions/adapters/rate-buckets.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const LIMIT = { intervalMs: 100, burst: 10 }; // 10 a second
const NOW = 1_800_000_000_000;
/** A clock that never passes the `now` each request brings: time is only what the tests pass in. */
const stopped = () => 0;
const IDLE = {
  UpdateExpression: 'SET tat = :next, expiresAt = :expiresAt, #type = :type',
  ConditionExpression: 'attribute_not_exists(tat) OR tat <= :now',
};
const BUSY = {
  UpdateExpression: 'SET tat = tat + :interval, expiresAt = :expiresAt, #type = :type',
  ConditionExpression: 'attribute_exists(tat) AND tat <= :latest',
};

const bucketWith = (tat: number) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: marshall({ PK: 'RATE#alice', SK: 'sendMessage', tat }),
  });

afterEach(() => {
  ddb.reset();
});

describe('a rate bucket', () => {
  it('lets an idle user in with one conditional write that starts the bucket', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { tat: NOW + 100 } });

    expect(await createAdmit(stopped)('alice', 'sendMessage', LIMIT, NOW)).toEqual({ allowed: true });

    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'parley-test',
      Key: { PK: 'RATE#alice', SK: 'sendMessage' },
      ...IDLE,
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: {
        ':next': NOW + 100,
        ':now': NOW,
        ':type': 'rateBucket',
        ':expiresAt': NOW / 1000 + 3600,
      },
      ReturnValues: 'UPDATED_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('moves on to the busy case with what the failed condition returned, reading nothing', async () => {
    ddb.on(UpdateCommand, IDLE).rejects(bucketWith(NOW + 500));
    ddb.on(UpdateCommand, BUSY).resolves({ Attributes: { tat: NOW + 600 } });

    expect(await createAdmit(stopped)('alice', 'sendMessage', LIMIT, NOW)).toEqual({ allowed: true });

    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 2);
    expect(ddb).toHaveReceivedNthCommandWith(UpdateCommand, 2, {
      ...BUSY,
      ExpressionAttributeValues: expect.objectContaining({ ':interval': 100, ':latest': NOW + 900 }),
    });
  });

  it('refuses past the burst, saying how long until one more fits', async () => {
    // Ten sent at NOW: the next fits when tat (NOW + 1000) is back within the burst, 100 ms later.
    ddb.on(UpdateCommand).rejects(bucketWith(NOW + 1000));

    expect(await createAdmit(stopped)('alice', 'sendMessage', LIMIT, NOW)).toEqual({
      allowed: false,
      retryAfterMs: 100,
    });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
  });

  it('tries the busy case first once this container has seen the bucket busy', async () => {
    const admit = createAdmit(stopped);
    ddb.on(UpdateCommand, IDLE).rejects(bucketWith(NOW + 300));
    ddb.on(UpdateCommand, BUSY).resolves({ Attributes: { tat: NOW + 400 } });
    await admit('alice', 'sendMessage', LIMIT, NOW);
    ddb.resetHistory();

    expect(await admit('alice', 'sendMessage', LIMIT, NOW + 10)).toEqual({ allowed: true });

    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, BUSY);
  });

  it('tries the idle case first when the busy spell this container saw is over', async () => {
    const admit = createAdmit(stopped);
    ddb.on(UpdateCommand, IDLE).rejects(bucketWith(NOW + 300));
    ddb.on(UpdateCommand, BUSY).resolves({ Attributes: { tat: NOW + 400 } });
    await admit('alice', 'sendMessage', LIMIT, NOW);
    ddb.reset();
    ddb.on(UpdateCommand).resolves({ Attributes: { tat: NOW + 5100 } });

    expect(await admit('alice', 'sendMessage', LIMIT, NOW + 5000)).toEqual({ allowed: true });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, IDLE);
  });

  it('reads the clock again when a request that started later wrote first, and is not refused for it', async () => {
    // Another request read its clock 10 ms after this one did and found the bucket idle: tat = NOW + 110.
    ddb.on(UpdateCommand, IDLE).rejects(bucketWith(NOW + 110));
    ddb.on(UpdateCommand, BUSY).resolves({ Attributes: { tat: NOW + 210 } });
    const twoAtOnce = { intervalMs: 100, burst: 2 };

    const answer = await createAdmit(() => NOW + 12)('alice', 'sendMessage', twoAtOnce, NOW);

    expect(answer).toEqual({ allowed: true });
    expect(ddb).toHaveReceivedNthCommandWith(UpdateCommand, 2, {
      ...BUSY,
      ExpressionAttributeValues: expect.objectContaining({ ':latest': NOW + 112 }),
    });
  });

  it('refuses after losing every try to the user’s own concurrent requests', async () => {
    // The bucket keeps changing between "idle" and "busy" answers: never stuck, refused after 8 tries.
    let flip = false;
    ddb.on(UpdateCommand).callsFake(() => {
      flip = !flip;
      throw bucketWith(flip ? NOW + 50 : NOW - 50);
    });

    expect(await createAdmit(stopped)('alice', 'sendMessage', LIMIT, NOW)).toEqual({
      allowed: false,
      retryAfterMs: 100,
    });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 8);
  });

  it('passes DynamoDB failures on (the route answers internal)', async () => {
    ddb.on(UpdateCommand).rejects(new Error('ProvisionedThroughputExceededException'));

    await expect(createAdmit(stopped)('alice', 'sendMessage', LIMIT, NOW)).rejects.toThrow(
      'ProvisionedThroughput',
    );
  });
});
