/**
 * `POST /_local/dev-token` (local/dev-token-route.ts): a token the authorizer's rules accept for a
 * valid user id, 400 for anything else; signed by `signDevToken`, the same code as `npm run token`.
 */
import { jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { addDevTokenRoute, DEV_TOKEN_PATH } from '../../../local/dev-token-route.ts';
import { LocalRoutes } from '../../../local/http/local-routes.ts';

const routes = new LocalRoutes();
addDevTokenRoute(routes);

async function post(body: string) {
  const match = routes.match('POST', DEV_TOKEN_PATH);
  if (match === undefined || match === 'method') throw new Error('the route is not registered');
  const reply = await match.handler({
    method: 'POST',
    params: match.params,
    query: new URLSearchParams(),
    headers: {},
    body: Buffer.from(body),
  });
  return { status: reply.statusCode, body: JSON.parse(reply.body ?? 'null') as Record<string, unknown> };
}

const secret = () => new TextEncoder().encode(process.env.JWT_SECRET);

afterEach(() => {
  delete process.env.JWT_ISSUER;
  delete process.env.JWT_AUDIENCE;
});

describe('POST /_local/dev-token', () => {
  it('signs HS256 with the local secret: sub, name, a one-hour exp and a jti', async () => {
    const { status, body } = await post(JSON.stringify({ userId: 'alice@example.com', name: 'Alice' }));

    expect(status).toBe(200);
    expect(body.userId).toBe('alice@example.com');
    const { payload, protectedHeader } = await jwtVerify(String(body.token), secret(), {
      algorithms: ['HS256'],
    });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'alice@example.com', name: 'Alice', jti: expect.any(String) });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it('adds iss and aud when the stack checks them', async () => {
    process.env.JWT_ISSUER = 'https://issuer.test/';
    process.env.JWT_AUDIENCE = 'parley-test';

    const { body } = await post(JSON.stringify({ userId: 'bob' }));

    const { payload } = await jwtVerify(String(body.token), secret(), {
      issuer: 'https://issuer.test/',
      audience: 'parley-test',
    });
    expect(payload.name).toBeUndefined();
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '["alice"]'],
    ['no user id', '{}'],
    ['a user id with a space', '{"userId":"al ice"}'],
    ['a user id over 64 characters', JSON.stringify({ userId: 'a'.repeat(65) })],
    ['a name that is not a string', '{"userId":"alice","name":7}'],
  ])('answers 400 to %s', async (_, body) => {
    const reply = await post(body);
    expect(reply.status).toBe(400);
    expect(reply.body.token).toBeUndefined();
  });
});
