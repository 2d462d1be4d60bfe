/**
 * The local EventBridge (local/events/fake-eventbridge.ts) as the events function's real SDK client
 * sees it: PutEvents over AWS JSON 1.1, each entry judged on its own, EventBridge's limits on the call,
 * and what it accepts recorded for `GET /_local/events` (oldest first, `{ id, source, detailType,
 * detail, time }`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeEventBridge } from '../../../local/events/fake-eventbridge.ts';
import { setLocalLogSink } from '../../../local/log.ts';

setLocalLogSink(() => undefined);
const BUS = 'parley-local-events';
const bus = new FakeEventBridge(BUS);
let server: Server;
let client: EventBridgeClient;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const target = request.headers['x-amz-target'];
      const reply = bus.handle(
        Array.isArray(target) ? target[0] : target,
        Buffer.concat(chunks).toString('utf8'),
      );
      response.writeHead(reply.statusCode, { 'Content-Type': 'application/x-amz-json-1.1' }).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new EventBridgeClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/_local/eventbridge`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => bus.clear());

const entry = (id: string, extra: Record<string, unknown> = {}) => ({
  EventBusName: BUS,
  Source: 'parley',
  DetailType: 'message.created',
  Detail: JSON.stringify({ id, seq: 1, ...extra }),
  Time: new Date('2026-11-23T10:30:05.000Z'),
});

describe('the local EventBridge', () => {
  it('puts the entries the SDK sends and records them oldest first, with their detail id and Time', async () => {
    const answer = await client.send(new PutEventsCommand({ Entries: [entry('a'), entry('b')] }));
    expect(answer.FailedEntryCount).toBe(0);
    expect(answer.Entries?.map((result) => typeof result.EventId)).toEqual(['string', 'string']);
    expect(bus.events()).toEqual([
      {
        id: 'a',
        source: 'parley',
        detailType: 'message.created',
        detail: { id: 'a', seq: 1 },
        time: '2026-11-23T10:30:05.000Z',
      },
      {
        id: 'b',
        source: 'parley',
        detailType: 'message.created',
        detail: { id: 'b', seq: 1 },
        time: '2026-11-23T10:30:05.000Z',
      },
    ]);
  });

  it('fails an entry on its own (FailedEntryCount): a detail that is no JSON object, another bus, no source', async () => {
    const answer = await client.send(
      new PutEventsCommand({
        Entries: [
          entry('ok'),
          { ...entry('x'), Detail: '[1, 2]' },
          { ...entry('y'), EventBusName: 'someone-elses-bus' },
          { ...entry('z'), Source: '' },
        ],
      }),
    );
    expect(answer.FailedEntryCount).toBe(3);
    expect(answer.Entries?.map((result) => result.ErrorCode)).toEqual([
      undefined,
      'MalformedDetail',
      'NotFoundException',
      'InvalidArgument',
    ]);
    expect(bus.events().map((event) => event.id)).toEqual(['ok']);
  });

  it('refuses a call of more than 10 entries, or of entries over 256 KB together, whole', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => entry(String(i)));
    await expect(client.send(new PutEventsCommand({ Entries: eleven }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    const big = Array.from({ length: 2 }, (_, i) => entry(String(i), { content: 'x'.repeat(140 * 1024) }));
    await expect(client.send(new PutEventsCommand({ Entries: big }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    expect(bus.events()).toEqual([]);
  });
});
