/**
 * integration.md: "A hook that is not configured costs nothing: no call, no extra read." Without
 * `SEND_HOOK_ARN` the send and edit routes invoke nothing and read nothing beyond what they read
 * without hooks (no send receipt, no message before an edit).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  delete process.env.SEND_HOOK_ARN;
});

import { sendHook } from '../../../functions/adapters/send-hook.ts';
import { handler as editHandler } from '../../../functions/routes/edit-message.ts';
import { handler as sendHandler } from '../../../functions/routes/send-message.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  conversationItem,
  ddb,
  frameOf,
  givenConversation,
  givenLastSeq,
  givenRateBucketsAdmit,
} from './route-mocks.ts';

const lambda = mockClient(LambdaClient);
const GROUP = 'grp-lunch';

/** Reads of a send receipt or of one message item: what only a hook needs. */
const hookReads = () =>
  ddb
    .commandCalls(GetCommand)
    .map((call) => String(call.args[0].input.Key?.SK ?? ''))
    .filter((sk) => sk === 'SENT' || sk.startsWith('MSG#'));

beforeEach(() => {
  ddb.on(GetCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(PutCommand).resolves({});
  ddb.on(TransactWriteCommand).resolves({});
  givenRateBucketsAdmit();
  givenConversation(GROUP, ['alice', 'bob']);
  ddb
    .on(GetCommand, {
      Key: { PK: `CONV#${GROUP}`, SK: 'META' },
      ProjectionExpression: 'changeSeq, changeCount',
    })
    .resolves({ Item: { ...conversationItem(GROUP, ['alice', 'bob']), changeSeq: 3, changeCount: 0 } });
  givenLastSeq(GROUP, 3);
});

afterEach(() => {
  ddb.reset();
  lambda.reset();
});

describe('without a send hook', () => {
  it('the handlers have none', () => {
    expect(sendHook).toBeUndefined();
  });

  it('sendMessage invokes nothing and reads no receipt before its commit', async () => {
    const response = await sendHandler(
      messageEvent({ action: 'sendMessage', conversationId: GROUP, clientMessageId: 'c-1', content: 'hi' }),
      lambdaContext,
    );
    expect(frameOf(response)).toMatchObject({ type: 'ack', seq: 4 });
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    expect(hookReads()).toEqual([]);
  });

  it('editMessage invokes nothing and does not read the message first', async () => {
    const response = await editHandler(
      messageEvent({ action: 'editMessage', conversationId: GROUP, seq: 2, content: 'hi again' }),
      lambdaContext,
    );
    expect(frameOf(response)).toEqual({ type: 'ack', action: 'editMessage', seq: 2 });
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    expect(hookReads()).toEqual([]);
  });
});
