/**
 * Presence through the local stack with real WebSocket clients: a user's direct contacts get `online`
 * when their first connection opens and `offline` (with `lastSeen`) when the last one closes, once
 * each however many devices; someone who only shares a group with them gets neither.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;
type Frame = Record<string, unknown>;

const join = async (userId: string, deviceId = 'phone'): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}&deviceId=${deviceId}`);

beforeAll(async () => {
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  await stack?.stop();
});

const close = async (client: Client) => {
  client.socket.close();
  await client.closed;
};

describe('presence', () => {
  it('reaches direct contacts once per transition, and no one else', async () => {
    // GIVEN ada talks directly with ben, and shares only a group with cal
    const ben = await join('ben');
    const cal = await join('cal');
    let ada = await join('ada');
    ada.send({ action: 'sendMessage', to: 'ben', clientMessageId: 'p-1', content: 'hi ben' });
    await ada.until((frame) => frame.type === 'ack');
    // ben answers: both wrote, so presence flows between them (protocol.md 1.2, consent)
    ben.send({ action: 'sendMessage', to: 'ada', clientMessageId: 'p-2', content: 'hi ada' });
    await ben.until((frame) => frame.type === 'ack');
    await ada.until((frame) => frame.type === 'presence' && frame.userId === 'ben');
    ada.send({
      action: 'createConversation',
      clientRequestId: 'p-g',
      members: ['cal'],
      title: 'Only a group',
    });
    await ada.until((frame) => frame.type === 'conversation' && frame.kind === 'group');
    await close(ada);
    await ben.until(
      (frame) => frame.type === 'presence' && frame.userId === 'ada' && frame.status === 'offline',
    );

    // WHEN ada comes back on two devices, then closes both
    const seenByBen: Frame[] = [];
    const benSees = ben.until((frame) => {
      if (frame.type === 'presence' && frame.userId === 'ada') seenByBen.push(frame);
      return frame.type === 'presence' && frame.status === 'offline';
    });
    ada = await join('ada', 'phone');
    const tablet = await join('ada', 'tablet');
    await close(ada);
    await close(tablet);
    await benSees;

    // THEN ben saw one online and one offline, with when ada was last seen
    expect(seenByBen).toEqual([
      { type: 'presence', userId: 'ada', status: 'online' },
      { type: 'presence', userId: 'ada', status: 'offline', lastSeen: expect.any(String) },
    ]);
    expect(Date.parse(String(seenByBen[1]?.lastSeen))).not.toBeNaN();

    // AND cal, who only shares a group with her, got no presence at all
    const seenByCal: Frame[] = [];
    cal.send({ action: 'ping' });
    await cal.until((frame) => {
      if (frame.type === 'presence') seenByCal.push(frame);
      return frame.type === 'pong';
    });
    expect(seenByCal).toEqual([]);

    await Promise.all([close(ben), close(cal)]);
  });
});
