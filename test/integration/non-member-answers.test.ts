/**
 * Guarantee 9 of architecture.md against DynamoDB Local: a non-member learns nothing, not even whether
 * a conversation exists. A direct conversation's id is a hash anyone can compute from the two user ids,
 * so eve can name the conversation of bob and carol; her sendMessage, typing and markRead in it must
 * be answered exactly as in a conversation that does not exist, after the same DynamoDB calls, and
 * reach nobody.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { getMember } from '../../functions/adapters/member-store.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as typing } from '../../functions/routes/typing.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { connectEvent, lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { storedMessages } from '../support/seed.ts';

type Route = typeof sendMessage;

const managementApi = mockClient(ApiGatewayManagementApiClient);
afterAll(() => managementApi.restore());
beforeEach(() => {
  managementApi.reset();
  managementApi.on(PostToConnectionCommand).resolves({});
});

/**
 * The DynamoDB calls the handlers make while `recording` is set, as operation and marshalled input.
 * The caller's own rate bucket is left out: it is the same call for any conversation, but carries the
 * time of the request.
 */
const calls: string[] = [];
let recording = false;
const isRateBucket = (input: unknown): boolean =>
  JSON.stringify((input as { Key?: unknown }).Key ?? {}).includes('"RATE#');
dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    if (recording && !isRateBucket(args.input))
      calls.push(`${context.commandName} ${JSON.stringify(args.input)}`);
    return next(args);
  },
  { step: 'build', name: 'recordNonMemberCalls' },
);

/** What `route` answers eve, and the calls it made, with the conversation's id written as `{id}`. */
async function asEve(route: Route, frame: Record<string, unknown>, conversationId: string) {
  calls.length = 0;
  recording = true;
  try {
    const response = await route(
      messageEvent(frame, { userId: 'eve', connectionId: 'eve-conn' }),
      lambdaContext,
    );
    return {
      answer: response.body === undefined ? undefined : JSON.parse(response.body),
      calls: calls.map((call) => call.replaceAll(conversationId, '{id}')),
    };
  } finally {
    recording = false;
  }
}

const notAMember = (action: string, extra: Record<string, unknown> = {}) => ({
  type: 'error',
  code: 'forbidden',
  message: 'not a member of this conversation',
  action,
  ...extra,
});

describe('a non-member', () => {
  const BOB_CAROL = directConversationId('bob', 'carol');
  /** Shaped like a direct conversation id, of a pair that never wrote to each other. */
  const NEVER_TALKED = directConversationId('bob', 'dave');
  const MADE_UP = `dm_${randomUUID()}`;

  beforeAll(async () => {
    // GIVEN bob and carol talk (bob's first message creates their conversation), both online
    const ack = await sendMessage(
      messageEvent(
        { action: 'sendMessage', to: 'carol', clientMessageId: randomUUID(), content: 'lunch?' },
        { userId: 'bob', connectionId: 'bob-conn' },
      ),
      lambdaContext,
    );
    expect(JSON.parse(ack.body ?? '{}')).toMatchObject({ type: 'ack', conversationId: BOB_CAROL, seq: 1 });
    for (const userId of ['bob', 'carol']) {
      await connect(connectEvent({ userId, connectionId: `${userId}-conn` }), lambdaContext);
    }
  });

  it('gets the same answer to sendMessage, after the same calls, whether or not the conversation exists', async () => {
    const frame = (conversationId: string) => ({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'eve-1',
      content: 'who is this?',
    });

    const existing = await asEve(sendMessage, frame(BOB_CAROL), BOB_CAROL);
    const neverTalked = await asEve(sendMessage, frame(NEVER_TALKED), NEVER_TALKED);
    const madeUp = await asEve(sendMessage, frame(MADE_UP), MADE_UP);

    expect(existing.answer).toEqual(notAMember('sendMessage', { clientMessageId: 'eve-1' }));
    expect(neverTalked).toEqual(existing);
    expect(madeUp).toEqual(existing);
    // AND nothing was stored: bob and carol still have their one message, eve no send receipt
    expect(await storedMessages(BOB_CAROL)).toHaveLength(1);
    const receipt = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: keys.sendReceipt('eve', 'eve-1'), ConsistentRead: true }),
    );
    expect(receipt.Item).toBeUndefined();
    expect(managementApi).not.toHaveReceivedCommand(PostToConnectionCommand);
  });

  it('gets the same answer to typing, after the same calls, whether or not the conversation exists', async () => {
    const frame = (conversationId: string) => ({ action: 'typing', conversationId, state: 'start' });

    const existing = await asEve(typing, frame(BOB_CAROL), BOB_CAROL);
    const neverTalked = await asEve(typing, frame(NEVER_TALKED), NEVER_TALKED);
    const madeUp = await asEve(typing, frame(MADE_UP), MADE_UP);
    // `to` names eve's own conversation with bob, which does not exist: answered the same way
    const toBob = await asEve(
      typing,
      { action: 'typing', to: 'bob', state: 'start' },
      directConversationId('bob', 'eve'),
    );

    expect(existing.answer).toEqual(notAMember('typing'));
    expect(neverTalked).toEqual(existing);
    expect(madeUp).toEqual(existing);
    expect(toBob).toEqual(existing);
    // AND bob and carol, both online, received nothing
    expect(managementApi).not.toHaveReceivedCommand(PostToConnectionCommand);
  });

  it('gets the same answer to markRead, after the same calls, and learns nothing of the last seq', async () => {
    // WHEN eve marks seq 1 (which exists in bob and carol's conversation) and seq 2 (which does not)
    const frame = (conversationId: string, seq: number) => ({ action: 'markRead', conversationId, seq });

    const existing = await asEve(markRead, frame(BOB_CAROL, 1), BOB_CAROL);
    const beyondLast = await asEve(markRead, frame(BOB_CAROL, 2), BOB_CAROL);
    const neverTalked = await asEve(markRead, frame(NEVER_TALKED, 1), NEVER_TALKED);
    const madeUp = await asEve(markRead, frame(MADE_UP, 1), MADE_UP);

    // THEN every answer is the same refusal, after the same single read of eve's (absent) member item
    expect(existing.answer).toEqual(notAMember('markRead'));
    expect(beyondLast).toEqual(existing);
    expect(neverTalked).toEqual(existing);
    expect(madeUp).toEqual(existing);
    expect(existing.calls).toHaveLength(1);
    // AND no cursor moved, no read frame went out, no member item appeared for eve
    expect((await getMember(BOB_CAROL, 'carol'))?.readSeq).toBe(0);
    expect(await getMember(BOB_CAROL, 'eve')).toBeUndefined();
    expect(managementApi).not.toHaveReceivedCommand(PostToConnectionCommand);
  });
});
