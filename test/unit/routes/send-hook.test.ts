/**
 * The send and edit routes with a send hook configured (`SEND_HOOK_*`, as the CDK stack sets them):
 * where the hook is asked (after membership, before anything is created or stored), what it is told,
 * that a refusal stores nothing and creates no conversation, that a rewrite is what gets stored, and
 * that a retry of a committed clientMessageId is answered from its receipt without asking the hook.
 * DynamoDB and Lambda are mocked; test/integration/send-hook.test.ts runs the same against DynamoDB Local.
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const ARN = vi.hoisted(() => {
  // The handler modules read their hook when they load, as in Lambda.
  const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:parley-send-hook';
  process.env.SEND_HOOK_ARN = arn;
  process.env.SEND_HOOK_TIMEOUT_MS = '500';
  process.env.SEND_HOOK_ON_FAILURE = 'refuse';
  return arn;
});

import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler as editHandler } from '../../../functions/routes/edit-message.ts';
import { handler as sendHandler } from '../../../functions/routes/send-message.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  conditionFailed,
  conversationItem,
  ddb,
  expectNothingWritten,
  frameOf,
  givenConversation,
  givenLastSeq,
  givenRateBucketsAdmit,
  TABLE,
} from './route-mocks.ts';

const lambda = mockClient(LambdaClient);

const NOW = new Date('2026-11-23T10:30:05.200Z');
const GROUP = 'grp-lunch';
const DM = directConversationId('alice', 'bob');
const CMID = 'c-hooked-1';
const ALICE = { name: 'Alice Martin', deviceId: 'iphone-7f3a' };
const RECEIPT_KEY = { PK: `SENT#alice#${CMID}`, SK: 'SENT' };
const MESSAGE_KEY = { PK: `CONV#${GROUP}`, SK: 'MSG#000000000007' };

const send = (fields: Record<string, unknown>) =>
  sendHandler(
    messageEvent({ action: 'sendMessage', clientMessageId: CMID, content: '  lunch?  ', ...fields }, ALICE),
    lambdaContext,
  );
const edit = (fields: Record<string, unknown> = {}) =>
  editHandler(
    messageEvent(
      { action: 'editMessage', conversationId: GROUP, seq: 7, content: ' lunch at 1? ', ...fields },
      ALICE,
    ),
    lambdaContext,
  );

/** A payload as Lambda's Invoke returns it (the SDK's blob adapter: bytes that also read as text). */
const bytes = (text: string) =>
  Object.assign(new TextEncoder().encode(text), {
    transformToString: () => text,
  }) as unknown as InvokeCommandOutput['Payload'];
const hookAnswers = (answer: unknown) =>
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(JSON.stringify(answer)) });

/** The events the hook was invoked with. */
const eventsSent = () =>
  lambda
    .commandCalls(InvokeCommand)
    .map((call) => JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)));

const messagePuts = () =>
  ddb
    .commandCalls(PutCommand)
    .map((call) => call.args[0].input.Item)
    .filter((item) => item?.type === 'message');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  ddb.on(GetCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(PutCommand).resolves({});
  ddb.on(TransactWriteCommand).resolves({});
  givenRateBucketsAdmit();
  givenConversation(GROUP, ['alice', 'bob', 'carol']);
  givenLastSeq(GROUP, 6);
});

afterEach(() => {
  vi.useRealTimers();
  ddb.reset();
  lambda.reset();
});

describe('sendMessage with a send hook', () => {
  it('asks the hook once every check passed, with the event of integration.md, then commits', async () => {
    hookAnswers({ action: 'allow' });

    const response = await send({ conversationId: GROUP });

    expect(frameOf(response)).toMatchObject({ type: 'ack', seq: 7, duplicate: false });
    expect(eventsSent()).toEqual([
      {
        type: 'sendMessage',
        senderId: 'alice',
        conversationId: GROUP,
        kind: 'group',
        members: ['alice', 'bob', 'carol'],
        clientMessageId: CMID,
        content: 'lunch?',
        attachments: [],
        replyTo: null,
        mentions: [],
      },
    ]);
    expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input).toMatchObject({
      FunctionName: ARN,
      InvocationType: 'RequestResponse',
    });
    // The receipt was read first (strongly consistent), and found missing: a new message.
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: RECEIPT_KEY,
      ConsistentRead: true,
    });
    expect(messagePuts()).toEqual([expect.objectContaining({ content: 'lunch?', seq: 7 })]);
  });

  it('stores the rewrite instead of what was sent', async () => {
    hookAnswers({ action: 'rewrite', content: ' lunch? (sent with Parley Pro) ' });

    expect(frameOf(await send({ conversationId: GROUP }))).toMatchObject({ type: 'ack', duplicate: false });
    expect(messagePuts()).toEqual([expect.objectContaining({ content: 'lunch? (sent with Parley Pro)' })]);
  });

  it.each([
    ['payment_required', 'You have no credits left.'],
    ['blocked_content', 'Links are not allowed.'],
    ['forbidden', 'You can only write to your matches.'],
  ])('answers a deny with %s and the hook’s message, storing nothing', async (code, message) => {
    hookAnswers({ action: 'deny', code, message });

    const response = await send({ conversationId: GROUP });

    expect(frameOf(response)).toEqual({
      type: 'error',
      code,
      message,
      action: 'sendMessage',
      clientMessageId: CMID,
    });
    expectNothingWritten();
  });

  it('refuses a first message to a user without creating the conversation', async () => {
    hookAnswers({ action: 'deny', code: 'payment_required', message: 'No credits.' });

    const response = await send({ to: 'bob' });

    expect(frameOf(response)).toMatchObject({ code: 'payment_required', message: 'No credits.' });
    // The direct conversation the message would have created: its id and both members, not yet stored.
    expect(eventsSent()).toEqual([
      expect.objectContaining({ conversationId: DM, kind: 'direct', members: ['alice', 'bob'] }),
    ]);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expectNothingWritten();
  });

  it('answers internal and stores nothing when the hook fails (onFailure refuse)', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: bytes('{"errorType":"Error","errorMessage":"boom"}'),
    });

    const response = await send({ conversationId: GROUP });

    expect(frameOf(response)).toMatchObject({ type: 'error', code: 'internal', clientMessageId: CMID });
    expectNothingWritten();
  });

  it('answers a retry of a committed clientMessageId from its receipt, without asking the hook', async () => {
    ddb.on(GetCommand, { Key: RECEIPT_KEY }).resolves({
      Item: {
        ...RECEIPT_KEY,
        type: 'sendReceipt',
        conversationId: GROUP,
        messageId: 'msg-first',
        senderId: 'alice',
        createdAt: '2026-11-23T10:29:58.410Z',
        clientMessageId: CMID,
        seq: 5,
      },
    });
    ddb
      .on(GetCommand, { Key: { PK: `CONV#${GROUP}`, SK: 'MSG#000000000005' } })
      .resolves({ Item: { messageId: 'msg-first' } });

    const response = await send({ conversationId: GROUP });

    expect(frameOf(response)).toEqual({
      type: 'ack',
      action: 'sendMessage',
      clientMessageId: CMID,
      conversationId: GROUP,
      messageId: 'msg-first',
      seq: 5,
      createdAt: '2026-11-23T10:29:58.410Z',
      duplicate: true,
    });
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    expectNothingWritten();
  });

  it('asks the hook again when the receipt’s message was never stored (the commit failed after the answer)', async () => {
    const receipt = {
      ...RECEIPT_KEY,
      type: 'sendReceipt',
      conversationId: GROUP,
      messageId: 'msg-first',
      senderId: 'alice',
      createdAt: NOW.toISOString(),
      clientMessageId: CMID,
      seq: 7,
    };
    ddb.on(GetCommand, { Key: RECEIPT_KEY }).resolves({ Item: receipt });
    // The commit then finds that receipt and finishes its message.
    ddb.on(PutCommand, { Item: { type: 'sendReceipt' } }).rejects(conditionFailed(marshall(receipt)));
    hookAnswers({ action: 'allow' });

    const response = await send({ conversationId: GROUP });

    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
    expect(frameOf(response)).toMatchObject({
      type: 'ack',
      messageId: 'msg-first',
      seq: 7,
      duplicate: false,
    });
    expect(messagePuts()).toEqual([expect.objectContaining({ messageId: 'msg-first', content: 'lunch?' })]);
  });

  it('never asks about a message the membership check refuses', async () => {
    givenConversation('grp-others', ['bob', 'carol']);
    hookAnswers({ action: 'allow' });

    const response = await send({ conversationId: 'grp-others' });

    expect(frameOf(response)).toMatchObject({ code: 'forbidden' });
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });
});

describe('editMessage with a send hook', () => {
  const messageItem = (fields: Record<string, unknown> = {}) => ({
    ...MESSAGE_KEY,
    type: 'message',
    conversationId: GROUP,
    seq: 7,
    messageId: 'msg-7',
    senderId: 'alice',
    content: 'lunch at 12?',
    createdAt: '2026-11-23T10:00:00.000Z',
    clientMessageId: 'c-7',
    attachments: [{ attachmentId: 'a-1', key: 'attachments/x', contentType: 'image/png', size: 1_024 }],
    ...fields,
  });

  beforeEach(() => {
    ddb
      .on(GetCommand, {
        Key: { PK: `CONV#${GROUP}`, SK: 'META' },
        ProjectionExpression: 'changeSeq, changeCount',
      })
      .resolves({
        Item: { ...conversationItem(GROUP, ['alice', 'bob', 'carol']), changeSeq: 9, changeCount: 2 },
      });
    givenLastSeq(GROUP, 9);
  });

  it('asks about the new content with the edited message’s clientMessageId, seq and attachments', async () => {
    ddb.on(GetCommand, { Key: MESSAGE_KEY }).resolves({ Item: messageItem() });
    hookAnswers({ action: 'rewrite', content: 'lunch at one?' });

    const response = await edit();

    expect(frameOf(response)).toEqual({ type: 'ack', action: 'editMessage', seq: 7 });
    expect(eventsSent()).toEqual([
      {
        type: 'editMessage',
        senderId: 'alice',
        conversationId: GROUP,
        kind: 'group',
        members: ['alice', 'bob', 'carol'],
        clientMessageId: 'c-7',
        seq: 7,
        content: 'lunch at 1?',
        attachments: [{ contentType: 'image/png', size: 1_024 }],
        replyTo: null,
        mentions: [],
      },
    ]);
    const update = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[2]?.Update;
    expect(update?.ExpressionAttributeValues).toMatchObject({ ':content': 'lunch at one?' });
  });

  it('answers a deny with its code and message, changing nothing', async () => {
    ddb.on(GetCommand, { Key: MESSAGE_KEY }).resolves({ Item: messageItem() });
    hookAnswers({ action: 'deny', code: 'blocked_content', message: 'Not that word.' });

    const response = await edit();

    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'blocked_content',
      message: 'Not that word.',
      action: 'editMessage',
    });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it.each([
    ['another member’s message', { senderId: 'bob' }, 'forbidden'],
    ['a deleted message', { deleted: true, content: '' }, 'not_found'],
  ])('refuses %s as before, without asking the hook', async (_case, fields, code) => {
    ddb.on(GetCommand, { Key: MESSAGE_KEY }).resolves({ Item: messageItem(fields) });
    hookAnswers({ action: 'allow' });

    expect(frameOf(await edit())).toMatchObject({ type: 'error', code });
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('refuses a seq with no message as not_found, without asking the hook', async () => {
    hookAnswers({ action: 'allow' });
    expect(frameOf(await edit({ seq: 8 }))).toMatchObject({ type: 'error', code: 'not_found' });
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });
});
