/**
 * DynamoDB request units per new 1:1 message (architecture.md "Budgets"): the real sendMessage and
 * delivery handlers, in this process, against DynamoDB Local, with only API Gateway's management API
 * stubbed. Alice and Bob already share a direct conversation (made by a first message, not counted);
 * Bob is online on one device; Alice sends a new message and the delivery handler processes the stream
 * record that write produced. Every DynamoDB call is printed with what Local reported and what AWS
 * bills (bench/billing.ts). A retried send, a markRead (with its stream delivery), a typing, a send
 * refused by the rate limit and the message to an offline recipient (bench/offline-units.ts) are
 * counted too, for information, and so are groups of 20 and 100 (bench/group-units.ts) and presence
 * (bench/presence-units.ts). Each operation's figures are returned too (bench/operation-units.ts).
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { TABLE } from '../definitions/table.ts';
import { createTable } from '../local/create-table.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { type LocalS3, startLocalS3 } from '../local/s3rver.ts';
import { indexShapesOf, RULES, type RuleId } from './billing.ts';
import { CapacityRecorder, type RecordedCall } from './capacity-recorder.ts';
import { measureGroupUnits } from './group-units.ts';
import {
  ATTACHMENT_PHASES,
  LIFECYCLE_PHASES,
  measureAttachmentUnits,
  measureLifecycleUnits,
} from './lifecycle-units.ts';
import { type ManagementApiStub, startManagementApiStub } from './management-api-stub.ts';
import { measureOfflineUnits, OFFLINE_PHASES } from './offline-units.ts';
import { PhaseCounter, printOperations } from './operation-units.ts';
import { measurePresenceUnits } from './presence-units.ts';
import { measureReconnectUnits } from './reconnect-units.ts';
import type { OperationFigures } from './results.ts';
import { findStreamRecord } from './stream-records.ts';
import { heading, textTable } from './text-table.ts';

export const BUDGET = { writeUnits: 8, readUnits: 4 } as const;

/** What one new 1:1 message costs: sendMessage plus the delivery of its stream record. */
export interface UnitsResult {
  readonly writeUnits: number;
  readonly readUnits: number;
  readonly localWriteUnits: number;
  readonly localReadUnits: number;
  readonly withinBudget: boolean;
  /** Every operation measured, by name: `directMessageOnline` is the budgeted one above. */
  readonly operations: Record<string, OperationFigures>;
}

const TABLE_NAME = 'parley-bench';
const ALICE = { userId: 'alice', name: 'Alice', connectionId: 'aliceConnId0=', deviceId: 'alice-phone' };
const BOB = { userId: 'bob', name: 'Bob', connectionId: 'bobConnId000=', deviceId: 'bob-phone' };
/** A typical chat line (118 characters): the message item stays well under 1 KB, as most do. */
const CONTENT =
  'Running ten minutes late, the train is stuck outside the station. Order me the usual and I will be there by half past.';
const COUNTED = ['sendMessage', 'delivery'] as const;
const INFORMATIVE = [
  'duplicate sendMessage (retry)',
  'markRead',
  'markRead delivery',
  'typing',
  'sync of 50 messages',
  'sync by afterVersion of 50 messages',
  'conversation list, first page (50 of 60)',
  'conversation list, next page (10)',
  'sendMessage refused (rate_limited)',
  ...OFFLINE_PHASES,
  ...LIFECYCLE_PHASES,
  ...ATTACHMENT_PHASES,
] as const;

export async function measureRequestUnits(): Promise<UnitsResult> {
  const db = await startDynamoDbLocal();
  const stub = await startManagementApiStub();
  const s3 = await startLocalS3({ persistDir: undefined, credentials: LOCAL_CREDENTIALS });
  const aws = { endpoint: db.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const probe = new DynamoDBClient(aws);
  const streams = new DynamoDBStreamsClient(aws);
  try {
    await createTable(probe, TABLE_NAME);
    const { Table } = await probe.send(new DescribeTableCommand({ TableName: TABLE_NAME }));
    const streamArn = Table?.LatestStreamArn;
    if (streamArn === undefined) throw new Error(`${TABLE_NAME} has no stream`);
    const scenario = await runScenario(db.endpoint, stub, s3, probe, (match) =>
      findStreamRecord(streams, streamArn, LOCAL_REGION, match),
    );
    return report(scenario);
  } finally {
    probe.destroy();
    streams.destroy();
    await stub.close();
    await s3.stop();
    await db.stop();
  }
}

type FindRecord = (match: (record: DynamoDBRecord) => boolean) => Promise<DynamoDBRecord>;

interface Scenario {
  readonly calls: Map<string, RecordedCall[]>;
  /** The group and presence reports, printed after the phases. */
  readonly groups: string;
  readonly operations: Record<string, OperationFigures>;
}

async function runScenario(
  endpoint: string,
  stub: ManagementApiStub,
  s3: LocalS3,
  probe: DynamoDBClient,
  findRecord: FindRecord,
): Promise<Scenario> {
  // What Lambda's environment would hold; handler modules read it when first imported, below.
  Object.assign(process.env, {
    TABLE_NAME,
    DYNAMODB_ENDPOINT: endpoint,
    WS_CALLBACK_URL: stub.url,
    SNS_ENDPOINT: stub.url,
    ATTACHMENTS_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    // Dan's device registers with it (bench/offline-units.ts); the stub's fake SNS knows this shape.
    PUSH_APP_ARN_APNS: 'arn:aws:sns:us-east-1:123456789012:app/APNS/parley-bench',
    DELIVERY_FAILURE_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:parley-delivery-failures',
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    LOG_LEVEL: 'error',
    // The scenario sends its uncounted filler messages back to back. One admission is one UpdateItem
    // on the sender's bucket whatever the limits, so raising them changes no counted figure.
    SEND_RATE_PER_SECOND: '1000',
    SEND_BURST: '1000',
  });
  const { dynamo } = await import('../functions/shared/clients/dynamodb.ts');
  const { handler: connect } = await import('../functions/routes/connect.ts');
  const { handler: disconnect } = await import('../functions/routes/disconnect.ts');
  const { memberItem } = await import('../functions/adapters/conversation-store.ts');
  const { directConversationId } = await import('../functions/domain/identifiers.ts');
  const { handler: sendMessage } = await import('../functions/routes/send-message.ts');
  const { handler: markRead } = await import('../functions/routes/mark-read.ts');
  const { handler: typing } = await import('../functions/routes/typing.ts');
  const { handler: registerDevice } = await import('../functions/routes/register-device.ts');
  const { keys } = await import('../functions/adapters/keys.ts');
  const { listBucketOf } = await import('../functions/adapters/list-entries.ts');
  const { mapConcurrently } = await import('../functions/shared/concurrency.ts');
  const { handler: sync } = await import('../functions/routes/sync.ts');
  const { handler: createConversation } = await import('../functions/routes/create-conversation.ts');
  const { handler: delivery } = await import('../functions/stream/delivery.ts');
  const { handler: editMessage } = await import('../functions/routes/edit-message.ts');
  const { handler: react } = await import('../functions/routes/react.ts');
  const { handler: deleteMessage } = await import('../functions/routes/delete-message.ts');
  const { handler: requestUpload } = await import('../functions/routes/request-upload.ts');
  const { handler: block } = await import('../functions/routes/block.ts');
  const { sendMessage: sendWithHook } = await import('../functions/domain/send-message.ts');
  const { handler: serverApi } = await import('../functions/server-api/handler.ts');
  const { serverApiEvent } = await import('../local/harness/server-api-events.ts');
  const { connectEvent, disconnectEvent, messageEvent, lambdaContext } = await import(
    '../local/harness/ws-events.ts'
  );

  const recorder = new CapacityRecorder(dynamo, probe, {
    keyNames: [TABLE.partitionKey.name, TABLE.sortKey.name],
    indexes: indexShapesOf(TABLE),
  });
  const counter = new PhaseCounter(recorder, stub);
  const route = async (handler: typeof sendMessage, who: typeof ALICE, frame: Record<string, unknown>) => {
    const response = await handler(messageEvent(frame, who), lambdaContext);
    const body =
      response.body === undefined ? undefined : (JSON.parse(response.body) as Record<string, unknown>);
    if (body?.type === 'error') throw new Error(`${String(frame.action)} answered ${response.body}`);
    return body;
  };
  const deliver = async (match: (record: DynamoDBRecord) => boolean) => {
    const record = await findRecord(match);
    return async () => {
      const result = await delivery({ Records: [record] });
      if (result.batchItemFailures.length > 0) throw new Error('delivery reported a failure');
    };
  };
  const messageInsert = (seq: number) => (record: DynamoDBRecord) =>
    record.eventName === 'INSERT' &&
    record.dynamodb?.NewImage?.type?.S === 'message' &&
    record.dynamodb.NewImage.seq?.N === String(seq);

  // Not counted: both online, and the direct conversation made by a first message, delivered.
  for (const user of [ALICE, BOB]) {
    await connect(connectEvent(user), lambdaContext);
    stub.open(user.connectionId);
  }
  const first = await route(sendMessage, ALICE, {
    action: 'sendMessage',
    to: BOB.userId,
    clientMessageId: 'bench-1',
    content: CONTENT,
  });
  const conversationId = String(first?.conversationId);
  await (await deliver(messageInsert(1)))();
  // Not counted: Bob answered long ago, so both have written (protocol.md 1.2: receipts, typing and
  // presence pass) and each entry shows the other online, as delivery of his answer would have left
  // them. Written directly, so that Bob's message does not shift the seqs measured below.
  for (const user of [ALICE, BOB]) {
    await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.member(conversationId, user.userId),
        UpdateExpression: 'SET sent = :true, peerSent = :true, peerStatus = :online, peerPresenceAt = :at',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':true': true, ':online': 'online', ':at': new Date().toISOString() },
      }),
    );
  }

  const frame = { action: 'sendMessage', conversationId, clientMessageId: 'bench-2', content: CONTENT };
  const ack = await counter.count('sendMessage', () => route(sendMessage, ALICE, frame));
  if (ack?.seq !== 2 || ack.duplicate !== false) throw new Error(`unexpected ack ${JSON.stringify(ack)}`);
  await counter.count('delivery', await deliver(messageInsert(2)));
  const reachedBob = stub.posted.some(
    (post) => post.connectionId === BOB.connectionId && post.frame.type === 'message' && post.frame.seq === 2,
  );
  if (!reachedBob) throw new Error('the message was not posted to Bob’s connection');

  const retry = await counter.count('duplicate sendMessage (retry)', () => route(sendMessage, ALICE, frame));
  if (retry?.duplicate !== true)
    throw new Error(`the retry was not answered as a duplicate: ${JSON.stringify(retry)}`);
  await counter.count('markRead', () => route(markRead, BOB, { action: 'markRead', conversationId, seq: 2 }));
  await counter.count(
    'markRead delivery',
    await deliver(
      (record) =>
        record.eventName === 'MODIFY' &&
        record.dynamodb?.NewImage?.changedBy?.S === 'read' &&
        record.dynamodb.NewImage.readSeq?.N === '2',
    ),
  );
  // Alice's seq 2, delivered to Bob above, edited by her, reacted to by him, deleted by her.
  const changes = { editMessage, react, deleteMessage, requestUpload, sendMessage };
  const lifecycleBench = {
    counter,
    conversationId,
    seq: 2,
    route: (action: keyof typeof changes, by: 'sender' | 'recipient', changeFrame: Record<string, unknown>) =>
      route(changes[action], by === 'sender' ? ALICE : BOB, changeFrame),
    deliver,
    updatesPosted: () => stub.posted.filter((post) => post.frame.type === 'messageUpdated').length,
  };
  const lifecycle = await measureLifecycleUnits(lifecycleBench);
  const photo = await measureAttachmentUnits(lifecycleBench);
  await counter.count('typing', () =>
    route(typing, ALICE, { action: 'typing', conversationId, state: 'start' }),
  );
  // Not counted: 48 more messages, so that the conversation holds 50 (their deliveries are not run).
  for (let i = 3; i <= 50; i++) {
    await route(sendMessage, ALICE, { ...frame, clientMessageId: `bench-${i}` });
  }
  const page = await counter.count('sync of 50 messages', () =>
    route(sync, BOB, { action: 'sync', conversationId, afterSeq: 0, limit: 50 }),
  );
  if ((page?.messages as unknown[] | undefined)?.length !== 50)
    throw new Error('sync did not answer 50 messages');
  // (1.2) A fresh device's catch-up by version: the same 50 (message 2 changed, so it comes last).
  const byVersion = await counter.count('sync by afterVersion of 50 messages', () =>
    route(sync, BOB, { action: 'sync', conversationId, afterVersion: 0, limit: 50 }),
  );
  if ((byVersion?.messages as unknown[] | undefined)?.length !== 50)
    throw new Error('sync by afterVersion did not answer 50 messages');
  // Not counted: Carol gets a first message from 60 people, each delivered, so her list has 60 entries.
  const CAROL = { userId: 'carol', name: 'Carol', connectionId: 'carolConnId0=', deviceId: 'carol-phone' };
  for (let i = 1; i <= 60; i++) {
    const friend = { ...ALICE, userId: `friend-${i}`, name: `Friend ${i}`, connectionId: `friend${i}Conn=` };
    const sent = await route(sendMessage, friend, {
      ...frame,
      to: CAROL.userId,
      conversationId: undefined,
      clientMessageId: `list-${i}`,
    });
    await (
      await deliver(
        (record) =>
          messageInsert(1)(record) && record.dynamodb?.NewImage?.conversationId?.S === sent?.conversationId,
      )
    )();
  }
  const firstPage = await counter.count('conversation list, first page (50 of 60)', () =>
    route(sync, CAROL, { action: 'sync', limit: 50 }),
  );
  if (
    (firstPage?.conversations as unknown[] | undefined)?.length !== 50 ||
    typeof firstPage?.nextCursor !== 'string'
  )
    throw new Error('the conversation list did not answer 50 conversations and a cursor');
  const nextPage = await counter.count('conversation list, next page (10)', () =>
    route(sync, CAROL, { action: 'sync', limit: 50, cursor: firstPage.nextCursor }),
  );
  if ((nextPage?.conversations as unknown[] | undefined)?.length !== 10 || nextPage?.nextCursor !== null)
    throw new Error('the conversation list did not end with the 10 left');
  // (1.2) Dave, in 1,000 conversations, catches up after 5 of them changed: in the operations' table
  // only (its thousands of calls are not listed one by one).
  const DAVE = { userId: 'dave', name: 'Dave', connectionId: 'daveConnId00=', deviceId: 'dave-phone' };
  const reconnect = await measureReconnectUnits({
    counter,
    sync: (syncFrame) => route(sync, DAVE, syncFrame),
    sendFrom: async (from, clientMessageId) => {
      const friend = { ...ALICE, userId: from, name: from, connectionId: `${from}Conn=` };
      const ack = await route(sendMessage, friend, {
        ...frame,
        to: DAVE.userId,
        conversationId: undefined,
        clientMessageId,
      });
      // Delivered as the stream would (the list shows what delivery recorded), from the stored item
      // rather than the stream: finding one record among thousands would take longer than the run.
      const { Item } = await dynamo.send(
        new GetCommand({
          TableName: TABLE_NAME,
          Key: keys.message(String(ack?.conversationId), Number(ack?.seq)),
          ConsistentRead: true,
        }),
      );
      const result = await delivery({
        Records: [
          {
            eventName: 'INSERT',
            dynamodb: {
              Keys: marshall({ PK: Item?.PK, SK: Item?.SK }) as never,
              NewImage: marshall(Item ?? {}, { removeUndefinedValues: true }) as never,
              SequenceNumber: String(Date.now()),
            },
          },
        ],
      });
      if (result.batchItemFailures.length > 0) throw new Error('delivery reported a failure');
    },
    spreadHistory: async (conversationIds) => {
      const now = Date.now();
      const indexed = conversationIds.map((conversationId, index) => ({ conversationId, index }));
      await mapConcurrently(indexed, 16, async ({ conversationId, index }) => {
        const changedAt = new Date(now - index * 60_000).toISOString();
        await dynamo.send(
          new UpdateCommand({
            TableName: TABLE_NAME,
            Key: keys.member(conversationId, DAVE.userId),
            UpdateExpression: 'SET changedAt = :changedAt, listAt = :listAt',
            ExpressionAttributeValues: { ':changedAt': changedAt, ':listAt': listBucketOf(changedAt) },
          }),
        );
      });
    },
  });
  const { reconnect: reconnect1000Changed5, burst: reconnect1000Changed5Burst } = reconnect;
  // A refused send: Erin's bucket is written full (its `tat` a minute ahead, past any burst), so her
  // send is refused by the limiter's first conditional UpdateItem. Writing the bucket, rather than
  // lowering SEND_BURST for the whole run, leaves every other figure as it is.
  const ERIN = { userId: 'erin', name: 'Erin', connectionId: 'erinConnId00=', deviceId: 'erin-phone' };
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.rateBucket(ERIN.userId, 'sendMessage'),
        type: 'rateBucket',
        tat: Date.now() + 60_000,
        expiresAt: Math.ceil(Date.now() / 1000) + 3600,
      },
    }),
  );
  const refused = await counter.count('sendMessage refused (rate_limited)', () =>
    sendMessage(
      messageEvent(
        { ...frame, to: BOB.userId, conversationId: undefined, clientMessageId: 'limited-1' },
        ERIN,
      ),
      lambdaContext,
    ),
  );
  if (!String(refused.body).includes('"code":"rate_limited"'))
    throw new Error(`the send was not refused as rate_limited: ${refused.body}`);
  // (1.2) Safety. A send with a send hook configured (integration.md), the hook answering `allow` in
  // process: what Parley adds around the call is the DynamoDB figure (the Invoke itself is Lambda's
  // bill). Then what a block costs, with a direct conversation to mark and without one, and a send the
  // block refuses.
  const hooked = await counter.count('sendMessage with a send hook (allow)', () =>
    sendWithHook(
      {
        caller: { userId: ALICE.userId, name: ALICE.name, deviceId: ALICE.deviceId },
        connectionId: ALICE.connectionId,
        conversationId,
        clientMessageId: 'hooked-1',
        content: CONTENT,
        now: new Date(),
      },
      { onFailure: 'refuse', call: async () => ({ action: 'allow' }) },
    ),
  );
  if (hooked.duplicate) throw new Error('the hooked send was answered as a duplicate');
  // (1.2) The app's backend sending as a member through the server API (integration.md), with an
  // Idempotency-Key: the key's record (claimed, then answered) comes on top of the send itself.
  const viaApi = await counter.count('sendMessage through the server API (Idempotency-Key)', () =>
    serverApi(
      serverApiEvent('POST', `/v1/conversations/${conversationId}/messages`, {
        body: { senderId: ALICE.userId, clientMessageId: 'server-api-1', content: CONTENT },
        key: 'bench-server-api-1',
      }),
      lambdaContext,
    ),
  );
  if (viaApi.statusCode !== 201) throw new Error(`the server API send failed: ${viaApi.body}`);
  const blocked = await counter.count('block (a user with a direct conversation)', () =>
    route(block, BOB, { action: 'block', userId: ALICE.userId, on: true }),
  );
  if (blocked?.type !== 'ack') throw new Error(`the block was not acked: ${JSON.stringify(blocked)}`);
  await counter.count('block (a user with no conversation)', () =>
    route(block, BOB, { action: 'block', userId: 'nobody-bob-knows', on: true }),
  );
  const refusedByBlock = await counter.count('sendMessage refused by a block', () =>
    sendMessage(messageEvent({ ...frame, clientMessageId: 'blocked-1' }, ALICE), lambdaContext),
  );
  if (!String(refusedByBlock.body).includes('"code":"forbidden"'))
    throw new Error(`the send was not refused by the block: ${refusedByBlock.body}`);
  await route(block, BOB, { action: 'block', userId: ALICE.userId, on: false });
  const connectOnline = async (who: typeof ALICE) => {
    await connect(connectEvent(who), lambdaContext);
    stub.open(who.connectionId);
  };
  const offline = await measureOfflineUnits({
    counter,
    stub,
    sender: ALICE,
    connect: connectOnline,
    disconnect: async (who) => {
      await disconnect(disconnectEvent(who), lambdaContext);
    },
    route: (action, who, offlineFrame) =>
      route(action === 'registerDevice' ? registerDevice : sendMessage, who, offlineFrame),
    deliver,
    content: CONTENT,
  });
  const groups = await measureGroupUnits({
    counter,
    stub,
    creator: ALICE,
    connect: connectOnline,
    createConversation: (who, groupFrame) => route(createConversation, who, groupFrame),
    sendMessage: (who, groupFrame) => route(sendMessage, who, groupFrame),
    deliver,
    content: CONTENT,
  });
  const presence = await measurePresenceUnits({
    counter,
    stub,
    connect: connectOnline,
    disconnect: async (who) => {
      await disconnect(disconnectEvent(who), lambdaContext);
    },
    seedDirect: async (userId, contact) => {
      const conversationId = directConversationId(userId, contact);
      const at = new Date().toISOString();
      const conversation = {
        conversationId,
        kind: 'direct' as const,
        members: [userId, contact].sort(),
        title: null,
      };
      // Both have written in it (protocol.md 1.2, consent): presence passes between them.
      for (const member of [userId, contact]) {
        await dynamo.send(
          new PutCommand({
            TableName: TABLE_NAME,
            Item: { ...memberItem(conversation, member, at), sent: true, peerSent: true },
          }),
        );
      }
    },
    deliver,
  });
  dynamo.destroy();
  return {
    calls: new Map([...COUNTED, ...INFORMATIVE].map((phase) => [phase, counter.phase(phase).calls])),
    groups: `${groups.report}\n${presence.report}`,
    operations: {
      directMessageOnline: counter.operation(...COUNTED),
      directMessageOffline: offline.directMessageOffline,
      duplicateSend: counter.operation('duplicate sendMessage (retry)'),
      rateLimitedSend: counter.operation('sendMessage refused (rate_limited)'),
      hookedSend: counter.operation('sendMessage with a send hook (allow)'),
      serverApiSend: counter.operation('sendMessage through the server API (Idempotency-Key)'),
      blockWithConversation: counter.operation('block (a user with a direct conversation)'),
      blockWithoutConversation: counter.operation('block (a user with no conversation)'),
      sendRefusedByBlock: counter.operation('sendMessage refused by a block'),
      markRead: counter.operation('markRead'),
      markReadDelivery: counter.operation('markRead delivery'),
      typing: counter.operation('typing'),
      sync50: counter.operation('sync of 50 messages'),
      // (1.2) Per returned message, as architecture.md budgets it.
      syncAfterVersion: perMessage(counter.operation('sync by afterVersion of 50 messages'), 50),
      conversationListPage50: counter.operation('conversation list, first page (50 of 60)'),
      conversationListFirstPage: counter.operation('conversation list, first page (50 of 60)'),
      conversationListNextPage: counter.operation('conversation list, next page (10)'),
      reconnect1000Changed5,
      reconnect1000Changed5Burst,
      registerDevice: offline.registerDevice,
      ...lifecycle,
      ...photo,
      ...groups.operations,
      ...presence.operations,
    },
  };
}

/** An operation's figures divided by the messages it returned. */
const perMessage = (figures: OperationFigures, messages: number): OperationFigures => ({
  wru: figures.wru / messages,
  rru: figures.rru / messages,
  requests: figures.requests / messages,
  postToConnection: figures.postToConnection / messages,
  snsPublish: figures.snsPublish / messages,
});

const units = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));

interface Totals {
  readUnits: number;
  writeUnits: number;
  localRead: number;
  localWrite: number;
}

function totalsOf(calls: readonly RecordedCall[]): Totals {
  const totals: Totals = { readUnits: 0, writeUnits: 0, localRead: 0, localWrite: 0 };
  for (const call of calls) {
    if (call.billed.kind === 'read') {
      totals.readUnits += call.billed.read.units;
      totals.localRead += call.localUnits ?? 0;
    } else {
      totals.writeUnits += call.billed.write.units;
      totals.localWrite += call.localUnits ?? 0;
    }
  }
  return totals;
}

function callRow(call: RecordedCall, index: number): string[] {
  const billed = call.billed;
  const aws =
    billed.kind === 'read'
      ? `${units(billed.read.units)} RRU`
      : billed.write.indexWrites.length === 0
        ? `${billed.write.units} WRU`
        : `${billed.write.tableUnits}+${billed.write.units - billed.write.tableUnits} WRU`;
  const rules = billed.kind === 'read' ? billed.read.rules : billed.write.rules;
  return [
    String(index + 1),
    call.outcome === 'ok' ? call.operation : `${call.operation} (${call.outcome})`,
    call.target,
    call.consistent === undefined ? '' : call.consistent ? 'strong' : 'eventual',
    call.sizes,
    call.localUnits === undefined
      ? 'none'
      : `${units(call.localUnits)} ${billed.kind === 'read' ? 'RCU' : 'WCU'}`,
    aws,
    rules.join(' '),
  ];
}

function phaseTable(phase: string, calls: readonly RecordedCall[]): string {
  const totals = totalsOf(calls);
  const table = textTable(
    ['#', 'call', 'table / index', 'read', 'item bytes (before→after)', 'Local', 'AWS bills', 'rules'],
    calls.map(callRow),
    ['right', 'left', 'left', 'left', 'left', 'right', 'right', 'left'],
  );
  return (
    `\n${phase}: ${calls.length} DynamoDB call(s)\n${table}\n` +
    `  AWS: ${units(totals.writeUnits)} WRU, ${units(totals.readUnits)} RRU` +
    `   (DynamoDB Local reported ${units(totals.localWrite)} WCU, ${units(totals.localRead)} RCU)\n`
  );
}

function report({ calls, groups, operations }: Scenario): UnitsResult {
  const all = [...calls.values()].flat();
  const used = new Set<RuleId>(
    all.flatMap((call) => (call.billed.kind === 'read' ? call.billed.read.rules : call.billed.write.rules)),
  );
  const counted = totalsOf(COUNTED.flatMap((phase) => calls.get(phase) ?? []));
  const withinBudget = counted.writeUnits <= BUDGET.writeUnits && counted.readUnits <= BUDGET.readUnits;
  const verdict = (value: number, budget: number) => (value <= budget ? 'PASS' : 'OVER');
  const out = [
    heading('DynamoDB request units per new 1:1 message'),
    'Alice → Bob in their existing direct conversation (its first message not counted), Bob online on one',
    `connection, content ${CONTENT.length} characters. Real handlers in-process, DynamoDB Local ${TABLE_NAME},`,
    'the delivery handler fed the INSERT record read from the table stream. Authorizer not included.',
    'Bob has not read the first message, so delivery updates his entry in the unread index; had he read',
    'it, the entry would be put instead, at the same 1 WRU.',
    ...COUNTED.map((phase) => phaseTable(phase, calls.get(phase) ?? [])),
    '\nPer new 1:1 message (sendMessage + delivery), as AWS bills it:',
    `  write: ${units(counted.writeUnits)} WRU (budget ${BUDGET.writeUnits}) ${verdict(counted.writeUnits, BUDGET.writeUnits)}` +
      `   DynamoDB Local reported ${units(counted.localWrite)} WCU`,
    `  read:  ${units(counted.readUnits)} RRU (budget ${BUDGET.readUnits}) ${verdict(counted.readUnits, BUDGET.readUnits)}` +
      `   DynamoDB Local reported ${units(counted.localRead)} RCU`,
    '\nInformative (not part of the budget):',
    ...INFORMATIVE.map((phase) => phaseTable(phase, calls.get(phase) ?? [])),
    '\nAWS billing rules applied (DynamoDB Local’s ConsumedCapacity is shown only for comparison):',
    ...[...used].sort().map((id) => `  ${id}  ${RULES[id]}`),
    '  Item sizes: attribute name bytes + value bytes (numbers: 1 byte per 2 significant digits + 1).',
    groups,
    printOperations(operations),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return {
    writeUnits: counted.writeUnits,
    readUnits: counted.readUnits,
    localWriteUnits: counted.localWrite,
    localReadUnits: counted.localRead,
    withinBudget,
    operations,
  };
}
