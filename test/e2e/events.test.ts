/**
 * Events to the backend through the local stack (integration.md, "Events to the backend"): real
 * WebSocket clients send a message, edit it, delete it, create a group that one member leaves, report
 * and block; once the stream pipeline is idle (delivery's consumer and the events consumer both),
 * `GET /_local/events` holds, after deduplication by `id`, each change's event with its detail-type,
 * `source: "parley"`, ids, `seq` and `version`, and no content; `DELETE` clears them. With
 * `--event-content`, the message text and the report's note are in the details.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { pipelineIdle } from './support/pipeline-idle.ts';
import { localToken } from './support/tokens.ts';

interface RecordedEvent {
  id: string;
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  time: string;
}

const TEXT = (run: string) => `lunch at noon? ${run}`;
const EDITED = (run: string) => `lunch at one? ${run}`;
const NOTE = (run: string) => `keeps asking where I live ${run}`;

async function join(stack: LocalStackProcess, userId: string): Promise<Client> {
  return connect(`${stack.url}/?token=${await localToken(userId)}`);
}

async function ask(
  client: Client,
  frame: Record<string, unknown>,
  action: string,
): Promise<Record<string, unknown>> {
  client.send(frame);
  const answer = await client.until(
    (reply) => reply.action === action && (reply.type === 'ack' || reply.type === 'error'),
  );
  expect(answer, JSON.stringify(frame)).toMatchObject({ type: 'ack' });
  return answer;
}

/** The recorded events once nothing more can come out of the stream, each id once (oldest kept). */
async function events(stack: LocalStackProcess): Promise<RecordedEvent[]> {
  await pipelineIdle(stack.httpUrl);
  const response = await fetch(`${stack.httpUrl}/_local/events`);
  expect(response.status).toBe(200);
  const all = (await response.json()) as RecordedEvent[];
  const seen = new Set<string>();
  return all.filter((event) => !seen.has(event.id) && seen.add(event.id));
}

describe('events through the local stack', () => {
  let stack: LocalStackProcess;
  beforeAll(async () => {
    stack = await startLocalStackProcess();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('records one event per change, deduplicated by id, with ids, seq and version and no content; DELETE clears them', async () => {
    const run = randomUUID().slice(0, 8);
    const [ada, bea, cyd] = [`ada-${run}`, `bea-${run}`, `cyd-${run}`];
    const [adaPhone, beaPhone, cydPhone] = await Promise.all([
      join(stack, ada),
      join(stack, bea),
      join(stack, cyd),
    ]);

    // ada writes to bea, edits the message and deletes it
    const sent = await ask(
      adaPhone,
      { action: 'sendMessage', to: bea, clientMessageId: 'm-1', content: TEXT(run) },
      'sendMessage',
    );
    const { conversationId: direct, seq } = sent as { conversationId: string; seq: number };
    await ask(
      adaPhone,
      { action: 'editMessage', conversationId: direct, seq, content: EDITED(run) },
      'editMessage',
    );
    await ask(adaPhone, { action: 'deleteMessage', conversationId: direct, seq }, 'deleteMessage');
    // ada makes a group of the three, which cyd leaves
    adaPhone.send({
      action: 'createConversation',
      clientRequestId: `g-${run}`,
      members: [bea, cyd],
      title: `Trip ${run}`,
    });
    const group = await cydPhone.until((frame) => frame.type === 'conversation' && frame.kind === 'group');
    await ask(
      cydPhone,
      { action: 'leaveConversation', conversationId: group.conversationId },
      'leaveConversation',
    );
    // bea reports the message and blocks ada
    await ask(
      beaPhone,
      {
        action: 'report',
        clientRequestId: `r-${run}`,
        conversationId: direct,
        seq,
        reason: 'harassment',
        note: NOTE(run),
      },
      'report',
    );
    await ask(beaPhone, { action: 'block', userId: ada, on: true }, 'block');

    const recorded = await events(stack);
    expect(recorded.map((event) => event.detailType).sort()).toEqual([
      'conversation.created',
      'conversation.created',
      'member.left',
      'message.created',
      'message.deleted',
      'message.updated',
      'report.created',
      'user.blocked',
    ]);
    const one = (type: string) => recorded.find((event) => event.detailType === type)?.detail;
    expect(recorded.every((event) => event.source === 'parley' && event.detail.id === event.id)).toBe(true);
    expect(recorded.every((event) => !Number.isNaN(Date.parse(event.time)))).toBe(true);
    const version = seq * 1_000_000;
    expect(one('message.created')).toMatchObject({ conversationId: direct, seq, version, senderId: ada });
    expect(one('message.updated')).toMatchObject({
      conversationId: direct,
      seq,
      senderId: ada,
      change: 'edit',
    });
    expect(Number(one('message.updated')?.version)).toBeGreaterThan(version);
    expect(Number(one('message.deleted')?.version)).toBeGreaterThan(Number(one('message.updated')?.version));
    expect(one('member.left')).toMatchObject({
      conversationId: group.conversationId,
      userId: cyd,
      kind: 'group',
    });
    expect(
      recorded.filter((event) => event.detailType === 'conversation.created').map((event) => event.detail),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ conversationId: direct, kind: 'direct' }),
        expect.objectContaining({
          conversationId: group.conversationId,
          kind: 'group',
          members: [ada, bea, cyd].sort(),
        }),
      ]),
    );
    expect(one('report.created')).toMatchObject({
      reporterId: bea,
      conversationId: direct,
      seq,
      reason: 'harassment',
    });
    expect(one('user.blocked')).toMatchObject({ blockerId: bea, blockedId: ada, blocked: true });
    // No content by default: neither the text, its edit, nor the note.
    expect(JSON.stringify(recorded)).not.toContain(`noon? ${run}`);
    expect(JSON.stringify(recorded)).not.toContain(`one? ${run}`);
    expect(JSON.stringify(recorded)).not.toContain(`where I live ${run}`);

    // DELETE clears the recorder.
    expect((await fetch(`${stack.httpUrl}/_local/events`, { method: 'DELETE' })).status).toBe(204);
    expect(await (await fetch(`${stack.httpUrl}/_local/events`)).json()).toEqual([]);
    for (const client of [adaPhone, beaPhone, cydPhone]) client.socket.close();
  });
});

describe('events with --event-content', () => {
  let stack: LocalStackProcess;
  beforeAll(async () => {
    stack = await startLocalStackProcess({}, ['--event-content']);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('carry the message text, its edit and the report note', async () => {
    const run = randomUUID().slice(0, 8);
    const [eli, fay] = [`eli-${run}`, `fay-${run}`];
    const [eliPhone, fayPhone] = await Promise.all([join(stack, eli), join(stack, fay)]);
    const sent = await ask(
      eliPhone,
      { action: 'sendMessage', to: fay, clientMessageId: 'm-1', content: TEXT(run) },
      'sendMessage',
    );
    const { conversationId, seq } = sent as { conversationId: string; seq: number };
    await ask(eliPhone, { action: 'editMessage', conversationId, seq, content: EDITED(run) }, 'editMessage');
    await ask(
      fayPhone,
      { action: 'report', clientRequestId: `r-${run}`, conversationId, seq, reason: 'spam', note: NOTE(run) },
      'report',
    );

    const recorded = await events(stack);
    const one = (type: string) => recorded.find((event) => event.detailType === type)?.detail;
    expect(one('message.created')).toMatchObject({ seq, content: TEXT(run) });
    expect(one('message.updated')).toMatchObject({ seq, content: EDITED(run), change: 'edit' });
    expect(one('report.created')).toMatchObject({ seq, note: NOTE(run) });
    for (const client of [eliPhone, fayPhone]) client.socket.close();
  });
});
