/**
 * `npm run admin -- failures | redrive` against a deployed stack, with every AWS client mocked: the
 * exact SQS, DynamoDB, DynamoDB Streams and Lambda calls, the rule that a queue message is deleted only
 * after the delivery function answered without failures, and that a dry run invokes and deletes
 * nothing. The arguments of both commands are checked here too. Local mode runs end to end in
 * test/e2e/redrive.test.ts.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdminIncomplete, AdminUsageError, parseAdminArgs, runAdmin } from '../../../admin/admin.ts';
import type { QueueRequest } from '../../../admin/queue-commands.ts';
import { RETRY_FAILED_AFTER_MS } from '../../../admin/redrive.ts';

/** Runs `run` with the redrive's wait before a second try elapsed at once (fake timers for it alone). */
async function secondTryElapsed<T>(run: Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['setTimeout'] });
  try {
    let outcome: { value: T } | { error: unknown } | undefined;
    run.then(
      (value) => {
        outcome = { value };
      },
      (error: unknown) => {
        outcome = { error };
      },
    );
    // The mocked calls before the wait take a few turns of the event loop: time moves until it is over.
    while (outcome === undefined) {
      await vi.advanceTimersByTimeAsync(RETRY_FAILED_AFTER_MS / 6);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  } finally {
    vi.useRealTimers();
  }
}

const sqs = mockClient(SQSClient);
const lambda = mockClient(LambdaClient);
const streams = mockClient(DynamoDBStreamsClient);
const ddb = mockClient(DynamoDBDocumentClient);

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Parley-DeliveryOnFailure-ABC';
const FUNCTION_NAME = 'Parley-delivery-XYZ';
const STREAM_ARN =
  'arn:aws:dynamodb:eu-west-1:123456789012:table/Parley-ChatTable-ABC123/stream/2026-11-23T09:00:00.000';

const MESSAGE_ENTRY = {
  version: 1,
  source: 'parley.delivery',
  class: 'gave_up',
  kind: 'message',
  conversationId: 'd_alice_bob',
  seq: 7,
  messageId: 'm-7',
  recipients: ['bob'],
  failures: [
    {
      userId: 'bob',
      connectionId: 'CfQ3dXy2DoECKbQ=',
      class: 'transient',
      error: 'ThrottlingException',
      status: 429,
    },
  ],
  attempts: 5,
  eventId: 'c81e728d',
  recordedAt: '2026-12-01T10:30:00.000Z',
};
const MESSAGE_ITEM = {
  PK: 'CONV#d_alice_bob',
  SK: 'MSG#000000000007',
  type: 'message',
  conversationId: 'd_alice_bob',
  seq: 7,
  messageId: 'm-7',
  senderId: 'alice',
  senderName: 'Alice',
  content: 'lunch?',
  createdAt: '2026-12-01T10:29:59.000Z',
  clientMessageId: 'c-7',
};
const POINTER = {
  requestContext: {
    requestId: 'r-1',
    functionArn: 'arn:…',
    condition: 'RetryAttemptsExhausted',
    approximateInvokeCount: 11,
  },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: '2026-12-01T10:31:00.000Z',
  DDBStreamBatchInfo: {
    shardId: 'shardId-00001',
    startSequenceNumber: '4000000000000000000100',
    endSequenceNumber: '4000000000000000000102',
    approximateArrivalOfFirstRecord: '2026-12-01T10:29:00.000Z',
    approximateArrivalOfLastRecord: '2026-12-01T10:29:01.000Z',
    batchSize: 2,
    streamArn: STREAM_ARN,
  },
};

const message = (id: string, body: unknown) => ({
  MessageId: id,
  ReceiptHandle: `handle-${id}`,
  Body: JSON.stringify(body),
  Attributes: { SentTimestamp: String(Date.UTC(2026, 11, 1, 10, 30, 1)) },
});

/** The delivery function's answer, as Lambda's Invoke returns it. */
function answer(value: unknown, functionError?: string): Partial<InvokeCommandOutput> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return {
    StatusCode: 200,
    ...(functionError !== undefined && { FunctionError: functionError }),
    Payload: Object.assign(bytes, {
      transformToString: () => JSON.stringify(value),
    }) as unknown as InvokeCommandOutput['Payload'],
  };
}

function invokedEvents(): DynamoDBStreamEvent[] {
  return lambda
    .commandCalls(InvokeCommand)
    .map((call) => JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)));
}

let outputsFile: string;
beforeAll(async () => {
  outputsFile = join(await mkdtemp(join(tmpdir(), 'parley-redrive-')), 'cdk-outputs.json');
  await writeFile(
    outputsFile,
    JSON.stringify({
      Parley: {
        TableName: 'Parley-ChatTable-ABC123',
        OnFailureQueueUrl: QUEUE_URL,
        DeliveryFunctionName: FUNCTION_NAME,
        Region: 'eu-west-1',
      },
    }),
  );
});

const request = (command: 'failures' | 'redrive', options: Partial<QueueRequest> = {}): QueueRequest => ({
  command,
  target: { kind: 'aws', outputsFile, stack: undefined },
  limit: 100,
  dryRun: false,
  json: false,
  ...options,
});

beforeEach(() => {
  ddb
    .on(GetCommand, { Key: { PK: 'CONV#d_alice_bob', SK: 'MSG#000000000007' } })
    .resolves({ Item: MESSAGE_ITEM });
  lambda.on(InvokeCommand).resolves(answer({ batchItemFailures: [] }));
  sqs.on(DeleteMessageCommand).resolves({});
  sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
});

afterEach(() => {
  sqs.reset();
  lambda.reset();
  streams.reset();
  ddb.reset();
});

describe('admin failures', () => {
  it('lists the queue without long polling, one line per entry, and shows the messages again', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('sqs-1', MESSAGE_ENTRY), message('sqs-2', POINTER)] })
      .resolves({});

    const output = await runAdmin(request('failures'));

    expect(output.split('\n')).toEqual([
      '2026-12-01T10:30:01.000Z  sqs-1  message d_alice_bob seq 7 messageId m-7 to bob: gave up after 5 attempt(s): ' +
        'bob connection CfQ3dXy2DoECKbQ= ThrottlingException 429, recorded 2026-12-01T10:30:00.000Z',
      '2026-12-01T10:30:01.000Z  sqs-2  stream batch on shardId-00001, sequence numbers ' +
        '4000000000000000000100–4000000000000000000102 (2 record(s), first written about 2026-12-01T10:29:00.000Z): ' +
        'RetryAttemptsExhausted after 11 invocation(s), recorded 2026-12-01T10:31:00.000Z',
      '2 entries in the on-failure queue',
    ]);
    expect(sqs).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 30,
      WaitTimeSeconds: 0,
    });
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityBatchCommand, {
      QueueUrl: QUEUE_URL,
      Entries: [
        { Id: '0', ReceiptHandle: 'handle-sqs-1', VisibilityTimeout: 0 },
        { Id: '1', ReceiptHandle: 'handle-sqs-2', VisibilityTimeout: 0 },
      ],
    });
    expect(sqs).not.toHaveReceivedCommand(DeleteMessageCommand);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('prints JSON with --json, and says when the queue is empty', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('sqs-1', MESSAGE_ENTRY)] })
      .resolves({});
    expect(JSON.parse(await runAdmin(request('failures', { json: true })))).toEqual([
      {
        id: 'sqs-1',
        queuedAt: '2026-12-01T10:30:01.000Z',
        kind: 'message',
        description: expect.stringMatching(/^message d_alice_bob seq 7/),
        entry: { kind: 'delivery', delivery: MESSAGE_ENTRY },
      },
    ]);

    sqs.reset();
    sqs.on(ReceiveMessageCommand).resolves({});
    expect(await runAdmin(request('failures'))).toBe('the on-failure queue is empty');
  });
});

describe('admin redrive', () => {
  it('invokes the delivery function with the message as the table holds it, then deletes the entry', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('sqs-1', MESSAGE_ENTRY)] })
      .resolves({});

    const output = await runAdmin(request('redrive'));

    expect(output).toMatch(
      /^redelivered {2}sqs-1 {2}message d_alice_bob seq 7 .*\(1 record from the table\)$/m,
    );
    expect(output).toMatch(/^redrive: 1 redelivered and removed$/m);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'Parley-ChatTable-ABC123',
      Key: { PK: 'CONV#d_alice_bob', SK: 'MSG#000000000007' },
      ConsistentRead: true,
    });
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: FUNCTION_NAME,
      InvocationType: 'RequestResponse',
    });
    const [event] = invokedEvents();
    expect(event?.Records).toHaveLength(1);
    expect(event?.Records[0]).toMatchObject({
      eventID: expect.stringMatching(/^redrive:/),
      eventName: 'INSERT',
      dynamodb: {
        Keys: { PK: { S: 'CONV#d_alice_bob' }, SK: { S: 'MSG#000000000007' } },
        NewImage: {
          type: { S: 'message' },
          seq: { N: '7' },
          messageId: { S: 'm-7' },
          content: { S: 'lunch?' },
        },
      },
    });
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: 'handle-sqs-1',
    });
    const [invoked] = lambda.commandCalls(InvokeCommand);
    const [deleted] = sqs.commandCalls(DeleteMessageCommand);
    expect(invoked?.calledBefore(deleted as never)).toBe(true);
    expect(sqs).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      VisibilityTimeout: 900,
      WaitTimeSeconds: 0,
    });
  });

  it.each([
    [
      'batchItemFailures',
      answer({ batchItemFailures: [{ itemIdentifier: '1' }] }),
      /delivery failed again on 1 of 1/,
    ],
    [
      'a function error',
      answer({ errorType: 'Runtime.ExitError' }, 'Unhandled'),
      /failed \(Unhandled: Runtime.ExitError\)/,
    ],
  ])('deletes nothing when the invocation answers %s, and shows the entry again', async (_, response, reason) => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('sqs-1', MESSAGE_ENTRY)] })
      .resolves({});
    lambda.on(InvokeCommand).resolves(response);

    const run = secondTryElapsed(runAdmin(request('redrive')));

    await expect(run).rejects.toThrow(AdminIncomplete);
    const output = await run.catch((error: AdminIncomplete) => error.output);
    expect(output).toMatch(/^FAILED, kept {2}sqs-1 {2}message d_alice_bob seq 7/m);
    expect(output).toMatch(reason);
    // Tried twice, the second time after the wait (admin/redrive.ts), then kept.
    expect(output).toMatch(/failed twice, 6 s apart/);
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 2);
    expect(output).toMatch(/^redrive: 0 redelivered and removed, 1 failed and kept$/m);
    expect(sqs).not.toHaveReceivedCommand(DeleteMessageCommand);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityBatchCommand, {
      Entries: [{ Id: '0', ReceiptHandle: 'handle-sqs-1', VisibilityTimeout: 0 }],
    });
  });

  it('deletes nothing when Invoke itself is refused', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('sqs-1', MESSAGE_ENTRY)] })
      .resolves({});
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));

    await expect(secondTryElapsed(runAdmin(request('redrive')))).rejects.toThrow(AdminIncomplete);
    expect(sqs).not.toHaveReceivedCommand(DeleteMessageCommand);
  });

  it('with --dry-run reads the message but invokes and deletes nothing', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('sqs-1', MESSAGE_ENTRY)] })
      .resolves({});

    const output = await runAdmin(request('redrive', { dryRun: true }));

    expect(output).toMatch(/^would redeliver {2}sqs-1 {2}message .*\(1 record from the table\)$/m);
    expect(output).toMatch(/^dry run: 1 would be redelivered; nothing invoked, nothing removed$/m);
    expect(ddb).toHaveReceivedCommand(GetCommand);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    expect(sqs).not.toHaveReceivedCommand(DeleteMessageCommand);
  });

  it('replays a stream batch’s records from AT_SEQUENCE_NUMBER, leaving out what delivery would not get', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('sqs-2', POINTER)] })
      .resolves({});
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'iterator-1' });
    const streamed = (sequenceNumber: string, image: Record<string, unknown>, eventName = 'INSERT') => ({
      eventID: `e-${sequenceNumber}`,
      eventName,
      dynamodb: {
        ApproximateCreationDateTime: new Date('2026-12-01T10:29:00.000Z'),
        Keys: { PK: image.PK, SK: image.SK },
        NewImage: image,
        SequenceNumber: sequenceNumber,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    const item = { PK: { S: 'CONV#d_alice_bob' }, SK: { S: 'MSG#000000000007' }, type: { S: 'message' } };
    streams.on(GetRecordsCommand).resolves({
      Records: [
        streamed('4000000000000000000100', item),
        // delivery's own bookkeeping: the mapping's filter leaves it out
        streamed(
          '4000000000000000000101',
          { PK: { S: 'CONV#d_alice_bob' }, SK: { S: 'MEMBER#bob' }, type: { S: 'member' } },
          'MODIFY',
        ),
        streamed('4000000000000000000102', { ...item, SK: { S: 'MSG#000000000008' } }),
        // after the range
        streamed('4000000000000000000103', { ...item, SK: { S: 'MSG#000000000009' } }),
      ] as never,
      NextShardIterator: 'iterator-2',
    });

    const output = await runAdmin(request('redrive'));

    expect(output).toMatch(
      /^redelivered {2}sqs-2 {2}stream batch on shardId-00001.*\(2 records from the stream\)$/m,
    );
    expect(streams).toHaveReceivedCommandWith(GetShardIteratorCommand, {
      StreamArn: STREAM_ARN,
      ShardId: 'shardId-00001',
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: '4000000000000000000100',
    });
    expect(streams).toHaveReceivedCommandWith(GetRecordsCommand, { ShardIterator: 'iterator-1' });
    expect(streams).toHaveReceivedCommandTimes(GetRecordsCommand, 1);
    const [event] = invokedEvents();
    expect(event?.Records.map((record) => [record.eventID, record.dynamodb?.SequenceNumber])).toEqual([
      ['redrive:e-4000000000000000000100', '4000000000000000000100'],
      ['redrive:e-4000000000000000000102', '4000000000000000000102'],
    ]);
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, { ReceiptHandle: 'handle-sqs-2' });
  });

  it('keeps a batch whose records left the stream, and says the messages are still in the table', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('sqs-2', POINTER)] })
      .resolves({});
    streams
      .on(GetShardIteratorCommand)
      .rejects(new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} }));

    const output = await runAdmin(request('redrive')).catch((error: AdminIncomplete) => error.output);

    expect(output).toMatch(
      /^NOT REDELIVERABLE, kept {2}sqs-2 {2}stream batch .*TrimmedDataAccessException.*clients get them with sync$/m,
    );
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    expect(sqs).not.toHaveReceivedCommand(DeleteMessageCommand);
  });

  it('says what the outputs file lacks', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'parley-redrive-')), 'old-outputs.json');
    await writeFile(file, JSON.stringify({ Parley: { TableName: 't', OnFailureQueueUrl: QUEUE_URL } }));
    await expect(
      runAdmin({ ...request('redrive'), target: { kind: 'aws', outputsFile: file, stack: undefined } }),
    ).rejects.toThrow(/lacks TableName or DeliveryFunctionName/);
    await writeFile(file, JSON.stringify({ Parley: { TableName: 't' } }));
    await expect(
      runAdmin({ ...request('failures'), target: { kind: 'aws', outputsFile: file, stack: undefined } }),
    ).rejects.toThrow(/lacks OnFailureQueueUrl/);
  });
});

describe('failures and redrive arguments', () => {
  it('read the target, --limit, --dry-run and --json', () => {
    expect(
      parseAdminArgs(['failures', '--local', 'http://127.0.0.1:3001', '--limit', '5', '--json'], {}),
    ).toEqual({
      command: 'failures',
      target: { kind: 'local', url: 'http://127.0.0.1:3001', adminKey: undefined },
      limit: 5,
      dryRun: false,
      json: true,
    });
    expect(parseAdminArgs(['redrive', '--dry-run', '--stack', 'Parley'], {})).toEqual({
      command: 'redrive',
      target: { kind: 'aws', outputsFile: 'cdk-outputs.json', stack: 'Parley' },
      limit: 100,
      dryRun: true,
      json: false,
    });
  });

  it.each([
    [['failures', 'zoe'], /unexpected argument "zoe"/],
    [['redrive', '--limit', '0'], /--limit must be a whole number/],
    [['redrive', '--limit', 'lots'], /--limit must be a whole number/],
    [['failures', '--dry-run'], /--dry-run is for redrive/],
    [['deactivate', 'zoe', '--limit', '3'], /--limit is for failures and redrive/],
  ])('refuse %j', (argv, expected) => {
    expect(() => parseAdminArgs(argv, {})).toThrow(AdminUsageError);
    expect(() => parseAdminArgs(argv, {})).toThrow(expected);
  });
});
