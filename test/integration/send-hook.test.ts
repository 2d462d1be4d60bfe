/**
 * The send hook against DynamoDB Local (the hook's Lambda client mocked, the table real): a refusal,
 * whatever its cause (a deny, or a failed hook under `onFailure: refuse`), stores nothing at all, not
 * even the direct conversation a first message would create; a deny carries its code and the hook's
 * message; a rewrite is what is stored and what `sync` returns; a failed hook under `allow` stores the
 * message unchanged; a retry of a committed clientMessageId is its duplicate without a second call.
 */
import { randomUUID } from 'node:crypto';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendHookFailurePolicy } from '../../definitions/send-hook.ts';
import { lambdaSendHook } from '../../functions/adapters/send-hook.ts';
import { ParleyError } from '../../functions/domain/errors.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { editMessage } from '../../functions/domain/message-changes.ts';
import { sendMessage } from '../../functions/domain/send-message.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { seedGroupConversation, storedMessages } from '../support/seed.ts';

const lambda = mockClient(LambdaClient);
const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:parley-send-hook';

afterEach(() => {
  lambda.reset();
});

const hook = (onFailure: SendHookFailurePolicy) =>
  lambdaSendHook({ functionArn: ARN, timeoutMs: 150, onFailure }, new LambdaClient({ region: 'eu-west-1' }));

/** A payload as Lambda's Invoke returns it (the SDK's blob adapter: bytes that also read as text). */
const bytes = (text: string) =>
  Object.assign(new TextEncoder().encode(text), {
    transformToString: () => text,
  }) as unknown as InvokeCommandOutput['Payload'];
const hookAnswers = (answer: unknown) =>
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(JSON.stringify(answer)) });

const caller = (userId: string) => ({ userId, name: userId, deviceId: undefined });

function send(
  userId: string,
  target: { to: string } | { conversationId: string },
  content: string,
  onFailure: SendHookFailurePolicy | undefined,
  clientMessageId = randomUUID(),
) {
  return sendMessage(
    { ...target, caller: caller(userId), connectionId: 'conn-1', clientMessageId, content, now: new Date() },
    onFailure === undefined ? undefined : hook(onFailure),
  );
}

/** Every item of this file's table, by key: compared before and after a refusal. */
async function tableItems(): Promise<Map<string, string>> {
  const items = new Map<string, string>();
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({ TableName: TABLE_NAME, ConsistentRead: true, ExclusiveStartKey }),
    );
    for (const item of page.Items ?? []) items.set(`${item.PK} ${item.SK}`, JSON.stringify(item));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** What a refused send changed, but its sender's rate bucket (asking, not storing). */
async function changedSince(before: Map<string, string>): Promise<string[]> {
  const after = await tableItems();
  const changed = [...after]
    .filter(([key, item]) => !key.startsWith('RATE#') && before.get(key) !== item)
    .map(([key]) => key);
  return [...changed, ...[...before.keys()].filter((key) => !after.has(key))];
}

const refusalOf = (attempt: Promise<unknown>) =>
  attempt.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as ParleyError,
  );

describe('a deny', () => {
  it.each([
    ['payment_required', 'You have no credits left: buy more to keep chatting.'],
    ['blocked_content', 'Links are not allowed.'],
    ['forbidden', 'You can only write to your matches.'],
  ])('%s reaches the sender with the hook’s message, and a first message creates nothing', async (code, message) => {
    hookAnswers({ action: 'deny', code, message });
    const sender = `deny-${code}`;
    const before = await tableItems();

    const refusal = await refusalOf(send(sender, { to: 'bob' }, 'hello bob', 'allow'));

    expect(refusal).toBeInstanceOf(ParleyError);
    expect({ code: refusal.code, message: refusal.message }).toEqual({ code, message });
    expect(await changedSince(before)).toEqual([]);
    expect(await storedMessages(directConversationId(sender, 'bob'))).toEqual([]);
  });
});

describe('a rewrite', () => {
  it('is stored instead of what was sent, and is what members read', async () => {
    const group = `grp-${randomUUID()}`;
    await seedGroupConversation(group, ['alice', 'bob']);
    hookAnswers({ action: 'rewrite', content: '  I said **** at lunch  ' });

    const ack = await send('alice', { conversationId: group }, 'I said darn at lunch', 'refuse');

    expect(ack).toMatchObject({ type: 'ack', seq: 1, duplicate: false });
    expect((await storedMessages(group)).map((message) => message.content)).toEqual(['I said **** at lunch']);
  });

  it('of an edit is the content the edit stores', async () => {
    const group = `grp-${randomUUID()}`;
    await seedGroupConversation(group, ['alice', 'bob']);
    await send('alice', { conversationId: group }, 'first words', undefined);
    hookAnswers({ action: 'rewrite', content: 'second words, rewritten' });

    await editMessage(
      { caller: caller('alice'), conversationId: group, seq: 1, content: 'second words', now: new Date() },
      hook('refuse'),
    );

    expect(await storedMessages(group)).toEqual([
      expect.objectContaining({ content: 'second words, rewritten', editedAt: expect.any(String) }),
    ]);
  });
});

describe('an edit refused by the hook', () => {
  it('leaves the message as it was', async () => {
    const group = `grp-${randomUUID()}`;
    await seedGroupConversation(group, ['alice', 'bob']);
    await send('alice', { conversationId: group }, 'first words', undefined);
    hookAnswers({ action: 'deny', code: 'blocked_content', message: 'Not that.' });
    const before = await tableItems();

    const refusal = await refusalOf(
      editMessage(
        { caller: caller('alice'), conversationId: group, seq: 1, content: 'bad words', now: new Date() },
        hook('allow'),
      ),
    );

    expect(refusal).toMatchObject({ code: 'blocked_content', message: 'Not that.' });
    expect(await changedSince(before)).toEqual([]);
  });
});

/** Every way the hook can fail, as the Lambda client sees it. */
const FAILURES: [string, () => void][] = [
  ['times out', () => lambda.on(InvokeCommand).callsFake(() => new Promise(() => {}))],
  [
    'crashes',
    () =>
      lambda.on(InvokeCommand).resolves({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: bytes('{"errorType":"Error","errorMessage":"boom"}'),
      }),
  ],
  ['answers something malformed', () => hookAnswers({ action: 'maybe' })],
  ['rewrites beyond 4000 characters', () => hookAnswers({ action: 'rewrite', content: 'y'.repeat(4_001) })],
];

describe.each(FAILURES)('a hook that %s', (_case, given) => {
  it('under onFailure refuse: internal, and nothing stored, not even the conversation', async () => {
    given();
    const sender = `refuse-${randomUUID().slice(0, 8)}`;
    const before = await tableItems();

    const refusal = await refusalOf(send(sender, { to: 'bob' }, 'hello bob', 'refuse'));

    expect(refusal.code).toBe('internal');
    expect(await changedSince(before)).toEqual([]);
  });

  it('under onFailure allow: the message stored unchanged', async () => {
    given();
    const sender = `allow-${randomUUID().slice(0, 8)}`;

    const ack = await send(sender, { to: 'bob' }, 'hello bob', 'allow');

    expect(ack).toMatchObject({ type: 'ack', seq: 1, duplicate: false });
    expect((await storedMessages(directConversationId(sender, 'bob'))).map((m) => m.content)).toEqual([
      'hello bob',
    ]);
  });
});

describe('a retry', () => {
  it('of a committed clientMessageId is its duplicate, and the hook is not asked again', async () => {
    hookAnswers({ action: 'allow' });
    const sender = `retry-${randomUUID().slice(0, 8)}`;
    const clientMessageId = randomUUID();

    const first = await send(sender, { to: 'bob' }, 'once', 'refuse', clientMessageId);
    // The hook would now refuse anything: it is not asked.
    hookAnswers({ action: 'deny', code: 'payment_required', message: 'No credits left.' });
    const again = await send(sender, { to: 'bob' }, 'once', 'refuse', clientMessageId);

    expect(again).toEqual({ ...first, duplicate: true });
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
    expect(await storedMessages(first.conversationId)).toHaveLength(1);
  });

  it('racing the first attempt still stores one message (guarantee 1 holds with a hook)', async () => {
    hookAnswers({ action: 'allow' });
    const sender = `race-${randomUUID().slice(0, 8)}`;
    const clientMessageId = randomUUID();

    const acks = await Promise.all(
      Array.from({ length: 20 }, () => send(sender, { to: 'bob' }, 'just once', 'refuse', clientMessageId)),
    );

    expect(acks.filter((ack) => !ack.duplicate)).toHaveLength(1);
    expect(new Set(acks.map((ack) => `${ack.messageId} ${ack.seq}`)).size).toBe(1);
    expect(await storedMessages(directConversationId(sender, 'bob'))).toHaveLength(1);
  });

  it('after a refusal is asked again, and commits once allowed', async () => {
    const sender = `later-${randomUUID().slice(0, 8)}`;
    const clientMessageId = randomUUID();
    hookAnswers({ action: 'deny', code: 'payment_required', message: 'No credits left.' });
    await refusalOf(send(sender, { to: 'bob' }, 'paid for now', 'refuse', clientMessageId));

    hookAnswers({ action: 'allow' });
    const ack = await send(sender, { to: 'bob' }, 'paid for now', 'refuse', clientMessageId);

    expect(ack).toMatchObject({ seq: 1, duplicate: false });
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 2);
  });
});
