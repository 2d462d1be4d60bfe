/**
 * The local stack's fault injectors, each with what it stands in front of:
 * - the DynamoDB proxy, with the real `@aws-sdk/client-dynamodb` client configured as the handlers
 *   configure theirs, against a stand-in for DynamoDB Local on 127.0.0.1: the SDK parses each injected
 *   answer as the named exception and retries it, and a faulted call never reaches DynamoDB;
 * - the delivery wrapper, with a stand-in handler: what a crash and a timeout let the handler do;
 * - the fake SNS's Publish faults.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_HTTP_OPTIONS } from '../../../functions/shared/clients/http-options.ts';
import { MAX_TIMEOUT_DELAY_MS, withDeliveryFaults } from '../../../local/faults/delivery-faults.ts';
import { type DynamoDbProxy, startDynamoDbProxy } from '../../../local/faults/dynamodb-proxy.ts';
import { FaultPlan } from '../../../local/faults/fault-plan.ts';
import { lambdaContext } from '../../../local/lambda-context.ts';
import { setLocalLogSink } from '../../../local/log.ts';
import { FakeSns } from '../../../local/push/fake-sns.ts';

setLocalLogSink(() => undefined);

// Throttling retries back off for up to 1 s, then 2 s (the SDK's standard mode): more than the default 5 s in all.
describe('the DynamoDB fault proxy', { timeout: 20_000 }, () => {
  const ITEM = { Item: { PK: { S: 'k' }, v: { S: 'stored' } } };
  const seen: { headers: IncomingHttpHeaders; body: string }[] = [];
  let upstream: Server;
  let proxy: DynamoDbProxy;
  let client: DynamoDBClient;
  const plan = new FaultPlan({}, 1);

  beforeAll(async () => {
    // Stands in for DynamoDB Local: answers every call with one item and remembers what reached it.
    upstream = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        seen.push({ headers: request.headers, body });
        response
          .writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': 'upstream-id' })
          .end(JSON.stringify(ITEM));
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    proxy = await startDynamoDbProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, plan);
    client = new DynamoDBClient({
      ...CLIENT_HTTP_OPTIONS,
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterAll(async () => {
    client.destroy();
    await proxy.stop();
    upstream.close();
  });

  const getItem = () =>
    client.send(new GetItemCommand({ TableName: 'parley-local', Key: { PK: { S: 'k' } } }));

  it('with no fault forwards the request and the answer unchanged', async () => {
    plan.clear();
    seen.length = 0;
    const output = await getItem();
    expect(output.Item).toEqual(ITEM.Item);
    expect(output.$metadata).toMatchObject({ httpStatusCode: 200, requestId: 'upstream-id', attempts: 1 });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ TableName: 'parley-local', Key: { PK: { S: 'k' } } });
  });

  it('two throttled attempts are retried by the SDK and the third reaches DynamoDB', async () => {
    plan.replace({ dynamodb: { count: 2, answers: ['ProvisionedThroughputExceededException'] } });
    seen.length = 0;
    const output = await getItem();
    expect(output.Item).toEqual(ITEM.Item);
    expect(output.$metadata.attempts).toBe(3);
    expect(seen).toHaveLength(1);
    expect(plan.snapshot().injected.dynamodb).toBe(2);
  });

  it.each([
    ['ProvisionedThroughputExceededException', ProvisionedThroughputExceededException, 400, 'client'],
    ['ThrottlingException', ThrottlingException, 400, 'client'],
    ['InternalServerError', InternalServerError, 500, 'server'],
  ] as const)('answers %s as DynamoDB does: the SDK names it, retries it 3 times, nothing is forwarded', async (answer, type, status, fault) => {
    plan.replace({ dynamodb: { count: 3, answers: [answer] } });
    seen.length = 0;
    const error = await getItem().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({
      name: answer,
      $fault: fault,
      $metadata: { httpStatusCode: status, attempts: 3 },
    });
    expect(seen).toHaveLength(0);
  });
});

describe('the delivery wrapper', () => {
  const records = (n: number) =>
    Array.from(
      { length: n },
      (_, i) => ({ eventID: String(i), dynamodb: { SequenceNumber: String(i) } }) as DynamoDBRecord,
    );

  function standIn(
    run: (event: DynamoDBStreamEvent, context: Context) => Promise<void> = async () => undefined,
  ) {
    const calls: { ids: string[]; context: Context }[] = [];
    const handler = async (event: DynamoDBStreamEvent, context: Context) => {
      calls.push({ ids: event.Records.map((record) => record.eventID ?? ''), context });
      await run(event, context);
      return { batchItemFailures: [] };
    };
    return { calls, handler };
  }
  const context = () => lambdaContext('delivery', 60_000);

  it('without a fault is the handler', async () => {
    const { calls, handler } = standIn();
    const invoke = withDeliveryFaults(new FaultPlan({}, 1), handler, context);
    await expect(invoke(records(3))).resolves.toEqual({ batchItemFailures: [] });
    expect(calls.map((call) => call.ids)).toEqual([['0', '1', '2']]);
  });

  it('a crash handles the first half of the batch, then fails the invocation', async () => {
    const { calls, handler } = standIn();
    const invoke = withDeliveryFaults(new FaultPlan({ 'delivery-crash': { count: 2 } }, 1), handler, context);
    await expect(invoke(records(5))).rejects.toMatchObject({ name: 'Runtime.ExitError' });
    // A batch of one is handled and still lost: the retry handles it again.
    await expect(invoke(records(1))).rejects.toMatchObject({ name: 'Runtime.ExitError' });
    await invoke(records(2));
    expect(calls.map((call) => call.ids)).toEqual([['0', '1', '2'], ['0'], ['0', '1']]);
  });

  it('a timeout fails the invocation while the handler still runs, and then leaves it no time', async () => {
    let finish: () => void = () => undefined;
    const unfinished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const { calls, handler } = standIn(() => unfinished);
    const invoke = withDeliveryFaults(
      new FaultPlan({ 'delivery-timeout': { count: 1 } }, 1),
      handler,
      context,
    );
    await expect(invoke(records(4))).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
    const [call] = calls;
    expect(call?.ids).toEqual(['0', '1', '2', '3']);
    // From the deadline on (at most MAX_TIMEOUT_DELAY_MS after the start) the handler's own time check
    // starts no further record.
    await expect
      .poll(() => call?.context.getRemainingTimeInMillis(), { timeout: 10 * MAX_TIMEOUT_DELAY_MS })
      .toBe(0);
    finish();
  });
});

describe('the fake SNS with Publish faults', () => {
  const APP = 'arn:aws:sns:us-east-1:000000000000:app/GCM/parley-local';
  const TOPIC = 'arn:aws:sns:us-east-1:000000000000:failures';
  const call = (sns: FakeSns, params: Record<string, string>) =>
    sns.handle(new URLSearchParams({ Version: '2010-03-31', ...params }).toString());
  const setUp = (plan: FaultPlan) => {
    const sns = new FakeSns(plan);
    const topic: string[] = [];
    sns.subscribeTopic(TOPIC, (message) => topic.push(message));
    const created = call(sns, {
      Action: 'CreatePlatformEndpoint',
      PlatformApplicationArn: APP,
      Token: 'fcm-token',
      CustomUserData: JSON.stringify({ userId: 'bob', deviceId: 'bob-phone' }),
    });
    const arn = /<EndpointArn>(.*)<\/EndpointArn>/.exec(created.body)?.[1] ?? '';
    const push = () =>
      call(sns, {
        Action: 'Publish',
        TargetArn: arn,
        MessageStructure: 'json',
        Message: JSON.stringify({
          default: 'hi',
          GCM: JSON.stringify({ notification: { title: 'A', body: 'hi' } }),
        }),
      });
    return { sns, topic, push };
  };

  it('InternalError answers 500 and records nothing; the next Publish goes through', () => {
    const { sns, push } = setUp(new FaultPlan({ sns: { count: 1, answers: ['InternalError'] } }, 1));
    const failed = push();
    expect(failed.statusCode).toBe(500);
    expect(failed.body).toContain('<Type>Receiver</Type><Code>InternalError</Code>');
    expect(sns.pushes()).toHaveLength(0);
    expect(push().statusCode).toBe(200);
    expect(sns.pushes()).toHaveLength(1);
  });

  it('EndpointDisabled answers 400 and disables the endpoint, so later Publishes agree', () => {
    const { sns, push } = setUp(new FaultPlan({ sns: { count: 1, answers: ['EndpointDisabled'] } }, 1));
    const failed = push();
    expect(failed.statusCode).toBe(400);
    expect(failed.body).toContain('<Code>EndpointDisabled</Code>');
    expect(sns.endpoints()).toMatchObject([{ token: 'fcm-token', enabled: false }]);
    expect(push().body).toContain('<Code>EndpointDisabled</Code>');
    expect(sns.pushes()).toHaveLength(0);
  });

  it('EndpointDisabled is never the answer for a topic', () => {
    const plan = new FaultPlan({ sns: { count: 1, answers: ['EndpointDisabled'] } }, 1);
    const { sns, topic } = setUp(plan);
    expect(call(sns, { Action: 'Publish', TopicArn: TOPIC, Message: 'failed delivery' }).statusCode).toBe(
      200,
    );
    expect(topic).toEqual(['failed delivery']);
    expect(plan.snapshot().remaining).toEqual({ sns: 1 });
  });
});
