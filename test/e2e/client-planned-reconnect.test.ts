/**
 * The SDK's planned reconnect against the local stack: with the stack's connection limit cut from 2 h
 * to 20 s and the client replacing its socket every 1.5 s (in AWS: 110 min of 120), a recipient goes
 * through several replacements (each new socket opens before the old one closes) while messages keep
 * coming, and sees every one of them exactly once, in order.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Message, ParleyClient, type WebSocketConstructor } from '../../client/src/index.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;
const clients: ParleyClient[] = [];

beforeAll(async () => {
  stack = await startLocalStackProcess({ MAX_CONNECTION_MS: '20000' });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stack?.stop();
});

it('loses nothing across planned socket replacements', async () => {
  let sockets = 0;
  const Counted = class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      sockets += 1;
    }
  } satisfies WebSocketConstructor;
  const sender = new ParleyClient({ url: `${stack.url}/`, token: () => localToken('kai') });
  const recipient = new ParleyClient({
    url: `${stack.url}/`,
    token: () => localToken('lea'),
    WebSocket: Counted,
    maxConnectionMs: 1_500,
  });
  clients.push(sender, recipient);
  const seen: Message[] = [];
  recipient.on('message', (message) => seen.push(message));
  const opened = (client: ParleyClient) =>
    new Promise<void>((resolve) => {
      const off = client.on('state', ({ state }) => {
        if (state !== 'open') return;
        off();
        resolve();
      });
      client.connect();
    });
  await Promise.all([opened(sender), opened(recipient)]);

  // WHEN kai writes until lea's client has replaced its socket three times
  const sent: Message[] = [];
  while (sockets < 4) sent.push(await sender.send({ to: 'lea' }, `message ${sent.length}`));

  // THEN lea has each of them once, in seq order
  await new Promise<void>((resolve) => {
    const check = () => {
      if (seen.length >= sent.length) resolve();
    };
    recipient.on('message', check);
    check();
  });
  expect(seen.map((m) => m.messageId)).toEqual(sent.map((m) => m.messageId));
  expect(seen.map((m) => m.seq)).toEqual(sent.map((_, i) => i + 1));
});
