/**
 * The operators' tools through the local stack's HTTP endpoints (protocol.md "Operations") with real
 * WebSocket clients: deactivating closes the user's sockets, refuses their reconnect with 403 and makes
 * messages to them `forbidden`; reactivating restores all of it; revoking sessions refuses older tokens
 * and closes sockets; revoking one token closes only its connections. Every endpoint answers 204, and
 * answers it again when repeated.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect, refusal } from '../../local/harness/ws-client.ts';
import { DEFAULT_JWT_SECRET } from '../../local/stack.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;
const ROOT = join(import.meta.dirname, '..', '..');

beforeAll(async () => {
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  await stack?.stop();
});

/** A local token with the claims a test needs (`iat` in epoch seconds). */
function token(sub: string, claims: { jti?: string; iat?: number; exp?: number } = {}): Promise<string> {
  const jwt = new SignJWT(claims.jti === undefined ? {} : { jti: claims.jti })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000))
    .setExpirationTime(claims.exp ?? '1h');
  return jwt.sign(new TextEncoder().encode(DEFAULT_JWT_SECRET));
}

const socketUrl = (jwt: string, deviceId = 'phone') => `${stack.url}/?token=${jwt}&deviceId=${deviceId}`;

async function operate(path: string): Promise<number> {
  const response = await fetch(`${stack.httpUrl}/_local/${path}`, { method: 'POST' });
  return response.status;
}

async function sendTo(client: Client, to: string, clientMessageId: string): Promise<Record<string, unknown>> {
  client.send({ action: 'sendMessage', to, clientMessageId, content: 'are you there?' });
  return client.until((frame) => frame.clientMessageId === clientMessageId);
}

describe('operations', () => {
  it('deactivating closes the user’s sockets, refuses them and messages to them; reactivating restores it', async () => {
    const amy = await connect(socketUrl(await localToken('amy')));
    const zoe = await connect(socketUrl(await localToken('zoe')));
    const zoeTablet = await connect(socketUrl(await localToken('zoe'), 'tablet'));

    expect(await operate('users/zoe/deactivate')).toBe(204);
    await Promise.all([zoe.closed, zoeTablet.closed]);
    expect(await refusal(socketUrl(await localToken('zoe')))).toBe(403);
    expect(await sendTo(amy, 'zoe', 'to-deactivated')).toMatchObject({ type: 'error', code: 'forbidden' });
    // Idempotent: the same answer again.
    expect(await operate('users/zoe/deactivate')).toBe(204);

    expect(await operate('users/zoe/reactivate')).toBe(204);
    const back = await connect(socketUrl(await localToken('zoe')));
    expect(await sendTo(amy, 'zoe', 'to-reactivated')).toMatchObject({ type: 'ack', duplicate: false });
    expect(await back.until((frame) => frame.type === 'message')).toMatchObject({ senderId: 'amy' });

    for (const client of [amy, back]) client.socket.close();
    await Promise.all([amy.closed, back.closed]);
  });

  it('revoking sessions closes every socket and refuses tokens issued before, not after', async () => {
    const issuedBefore = Math.floor(Date.now() / 1000) - 60;
    const old = await token('max', { iat: issuedBefore });
    const phone = await connect(socketUrl(old));

    expect(await operate('users/max/revoke')).toBe(204);
    await phone.closed;
    expect(await refusal(socketUrl(old))).toBe(401);
    // A token issued after the revocation (the next second at the latest) connects.
    const fresh = await token('max', { iat: Math.floor(Date.now() / 1000) + 1 });
    const again = await connect(socketUrl(fresh));
    again.send({ action: 'ping' });
    expect(await again.until((frame) => frame.type === 'pong')).toEqual({ type: 'pong' });
    again.socket.close();
    await again.closed;
  });

  it('revoking one token closes only the connections opened with it, and refuses it', async () => {
    const revoked = await token('kai', { jti: 'kai-token-1' });
    const kept = await token('kai', { jti: 'kai-token-2' });
    const phone = await connect(socketUrl(revoked, 'phone'));
    const laptop = await connect(socketUrl(revoked, 'laptop'));
    const tablet = await connect(socketUrl(kept, 'tablet'));

    expect(await operate('tokens/kai-token-1/revoke')).toBe(204);
    await Promise.all([phone.closed, laptop.closed]);
    expect(await refusal(socketUrl(revoked))).toBe(401);
    tablet.send({ action: 'ping' });
    expect(await tablet.until((frame) => frame.type === 'pong')).toEqual({ type: 'pong' });
    // A jti no connection ever used is still refused from now on.
    expect(await operate('tokens/never-used/revoke')).toBe(204);
    expect(await refusal(socketUrl(await token('kai', { jti: 'never-used' })))).toBe(401);

    tablet.socket.close();
    await tablet.closed;
  });

  it('does the same through `npm run admin -- … --local URL`, with exit codes', async () => {
    const lea = await connect(socketUrl(await localToken('lea')));
    const admin = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        execFile(process.execPath, ['admin/admin.ts', ...args], { cwd: ROOT }, (error, stdout, stderr) => {
          resolve({
            code: error === null ? 0 : ((error as { code?: number }).code ?? null),
            out: stdout + stderr,
          });
        });
      });

    expect(await admin('deactivate', 'lea', '--local', stack.httpUrl)).toEqual({
      code: 0,
      out: `deactivate lea: done (local stack at ${stack.httpUrl})\n`,
    });
    await lea.closed;
    expect(await refusal(socketUrl(await localToken('lea')))).toBe(403);
    expect((await admin('reactivate', 'lea', '--local', stack.httpUrl)).code).toBe(0);
    (await connect(socketUrl(await localToken('lea')))).socket.close();

    expect(await admin('deactivate', 'no#pe', '--local', stack.httpUrl)).toMatchObject({
      code: 1,
      out: /answered 400/,
    });
    expect(await admin('frobnicate', 'lea')).toMatchObject({ code: 2, out: /unknown command/ });
  });

  it('refuses the first frame after the token expired and closes that socket', async () => {
    // GIVEN a connection whose token expires two seconds from now
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const ivy = await connect(socketUrl(await token('ivy', { exp: expiresAt })));
    ivy.send({ action: 'ping' });
    expect(await ivy.until((frame) => frame.type === 'pong')).toEqual({ type: 'pong' });

    // WHEN a frame comes after that moment
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt * 1000 - Date.now()) + 100));
    ivy.send({ action: 'ping' });

    // THEN it is refused, and the socket is closed
    expect(await ivy.until((frame) => frame.type === 'error')).toMatchObject({
      code: 'forbidden',
      message: 'your token has expired: reconnect with a fresh one',
    });
    await ivy.closed;
  });

  it('answers 400 for an id that cannot be a user', async () => {
    expect(await operate(`users/${encodeURIComponent('no#pe')}/deactivate`)).toBe(400);
  });
});
