/**
 * The local API Gateway's own behaviour, with small test handlers: what AWS answers at the upgrade,
 * route selection, two-way replies, concurrency, the 128 KiB / binary / idle limits, and shutdown.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, refusal } from '../../local/harness/ws-client.ts';
import { type FakeHandlers, fakeHandlers } from './support/fake-handlers.ts';
import { type Gateway, startGateway } from './support/gateway-harness.ts';

let handlers: FakeHandlers;
let gateway: Gateway;

beforeEach(async () => {
  handlers = fakeHandlers();
  gateway = await startGateway(handlers);
});

afterEach(async () => {
  handlers.release();
  await gateway.stop();
});

describe('upgrade', () => {
  it('answers 401 when the authorizer throws Unauthorized, before any route runs', async () => {
    expect(await refusal(`${gateway.url}/`)).toBe(401);
    expect(handlers.events).toEqual([]);
  });

  it('answers 403 for an explicit Deny policy', async () => {
    expect(await refusal(`${gateway.url}/?token=deny`)).toBe(403);
    expect(handlers.events).toEqual([]);
  });

  it('answers 500 when the authorizer fails otherwise', async () => {
    expect(await refusal(`${gateway.url}/?token=crash`)).toBe(500);
  });

  it('answers 502 when $connect throws, and the status $connect returns when it refuses', async () => {
    expect(await refusal(`${gateway.url}/?token=alice&connect=crash`)).toBe(502);
    expect(await refusal(`${gateway.url}/?token=alice&connect=refuse`)).toBe(401);
  });

  it('answers the subprotocol $connect chose', async () => {
    const client = await connect(`${gateway.url}/?token=alice`, { protocols: ['parley', 'a.jwt.token'] });
    expect(client.socket.protocol).toBe('parley');
    client.socket.close();
  });

  it('passes the authorizer context to every later event of the connection', async () => {
    const client = await connect(`${gateway.url}/?token=alice&deviceId=phone-1`);
    client.send({ action: 'ping' });
    await client.next();
    client.socket.close();
    await client.closed;
    await expect.poll(() => handlers.events.map((e) => e.requestContext.routeKey)).toContain('$disconnect');
    for (const event of handlers.events) {
      expect(event.requestContext.authorizer).toMatchObject({
        principalId: 'alice',
        userId: 'alice',
        deviceId: 'phone-1',
      });
    }
  });
});

describe('header and query names', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

  it('treats __proto__, constructor, toString… headers and query keys as ordinary keys', async () => {
    const query = NAMES.map((name, i) => `${name}=q${i}`).join('&');
    const headers = Object.fromEntries(NAMES.map((name, i) => [name, `h${i}`]));
    const client = await connect(`${gateway.url}/?token=alice&${query}&constructor=again`, { headers });
    client.socket.close();
    await client.closed;

    const [authorizer] = handlers.authorizerEvents;
    const connectEvent = handlers.events.find((e) => e.requestContext.routeKey === '$connect');
    for (const event of [authorizer, connectEvent]) {
      for (const [i, name] of NAMES.entries()) {
        expect(Object.getOwnPropertyDescriptor(event?.headers, name)?.value).toBe(`h${i}`);
        expect(Object.getOwnPropertyDescriptor(event?.multiValueHeaders, name)?.value).toEqual([`h${i}`]);
      }
      // Still plain objects, as JSON.parse gives Lambda.
      expect(Object.getPrototypeOf(event?.headers)).toBe(Object.prototype);
    }
    for (const event of [authorizer, connectEvent]) {
      const single = event?.queryStringParameters as Record<string, string>;
      const multi = event?.multiValueQueryStringParameters as Record<string, string[]>;
      expect(Object.getOwnPropertyDescriptor(single, '__proto__')?.value).toBe('q0');
      expect(Object.getOwnPropertyDescriptor(single, 'constructor')?.value).toBe('again');
      expect(Object.getOwnPropertyDescriptor(multi, 'constructor')?.value).toEqual(['q1', 'again']);
      expect(Object.getOwnPropertyDescriptor(multi, 'toString')?.value).toEqual(['q2']);
      expect(single.token).toBe('alice');
    }
  });

  it('answers the management API and /_local/ requests with such names as it answers any other', async () => {
    const headers = Object.fromEntries(NAMES.map((name) => [name, 'x']));
    const query = NAMES.map((name) => `${name}=x`).join('&');
    const management = await fetch(`${gateway.httpUrl}/@connections/nobody?${query}`, { headers });
    expect(management.status).toBe(410);
    const local = await fetch(`${gateway.httpUrl}/_local/nothing?${query}`, { headers });
    expect(local.status).toBe(404);
  });
});

describe('routes', () => {
  it('selects the route by action and answers two-way routes with the handler body', async () => {
    const client = await connect(`${gateway.url}/?token=alice`);
    client.send({ action: 'ping' });
    expect(await client.next()).toEqual({ type: 'pong' });
    client.socket.close();
  });

  it('sends unknown actions, non-objects and non-JSON to $default', async () => {
    const client = await connect(`${gateway.url}/?token=alice`);
    for (const frame of ['{"action":"fly"}', '[1,2]', 'not json', '{"action":"$connect"}']) {
      client.send(frame);
      expect(await client.next()).toEqual({ route: '$default', body: frame });
    }
    client.socket.close();
  });

  it('runs the messages of one connection concurrently, like Lambda invocations', async () => {
    const client = await connect(`${gateway.url}/?token=alice`);
    client.send({ action: 'sendMessage' });
    client.send({ action: 'ping' });
    // The held sendMessage has not answered, yet ping has.
    expect(await client.next()).toEqual({ type: 'pong' });
    handlers.release();
    expect(await client.next()).toEqual({ type: 'ack', action: 'sendMessage' });
    client.socket.close();
  });

  it("answers API Gateway's own error frame when a route handler throws", async () => {
    const client = await connect(`${gateway.url}/?token=alice`);
    client.send({ action: 'typing' });
    expect(await client.next()).toEqual({
      message: 'Internal server error',
      connectionId: expect.any(String),
      requestId: expect.any(String),
    });
    client.socket.close();
  });
});

describe('limits', () => {
  it('closes with 1009 on a message over 128 KiB, before any route', async () => {
    const client = await connect(`${gateway.url}/?token=alice`);
    client.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(128 * 1024) }));
    expect((await client.closed).code).toBe(1009);
    const routes = handlers.events.map((e) => e.requestContext.routeKey);
    expect(routes).not.toContain('ping');
    await expect
      .poll(() => handlers.events.find((e) => e.requestContext.routeKey === '$disconnect')?.requestContext)
      .toMatchObject({ disconnectStatusCode: 1009 });
  });

  it('accepts a message of exactly 128 KiB', async () => {
    const client = await connect(`${gateway.url}/?token=alice`);
    const frame = JSON.stringify({ action: 'ping', pad: '' });
    client.send(frame.replace('""', `"${'x'.repeat(128 * 1024 - frame.length)}"`));
    expect(await client.next()).toEqual({ type: 'pong' });
    client.socket.close();
  });

  it('closes with 1003 on a binary message, before any route', async () => {
    const client = await connect(`${gateway.url}/?token=alice`);
    client.socket.send(Buffer.from(JSON.stringify({ action: 'ping' })), { binary: true });
    expect((await client.closed).code).toBe(1003);
    expect(handlers.events.map((e) => e.requestContext.routeKey)).not.toContain('ping');
  });

  it('closes an idle connection with 1001 after the configured idle timeout', async () => {
    await gateway.stop();
    gateway = await startGateway(handlers, { idleTimeoutMs: 300 });
    const client = await connect(`${gateway.url}/?token=alice`);
    expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
    await expect
      .poll(() => handlers.events.find((e) => e.requestContext.routeKey === '$disconnect')?.requestContext)
      .toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
  });

  it('closes every connection after the maximum connection time, even an active one', async () => {
    await gateway.stop();
    gateway = await startGateway(handlers, { maxConnectionMs: 300 });
    const client = await connect(`${gateway.url}/?token=alice`);
    const pinging = setInterval(() => client.socket.readyState === 1 && client.send({ action: 'ping' }), 50);
    try {
      expect((await client.closed).code).toBe(1001);
    } finally {
      clearInterval(pinging);
    }
  });

  it('closes open connections with 1001 when the gateway stops', async () => {
    const client = await connect(`${gateway.url}/?token=alice`);
    await gateway.stop();
    expect((await client.closed).code).toBe(1001);
    gateway = await startGateway(handlers);
  });
});
