/**
 * Whatever arrives at `$connect`, the authorizer answers Allow for a valid token or throws exactly
 * `Unauthorized` (API Gateway's 401). Any other exception would be a 500 for bad input, so none may
 * escape: not from parsing junk, nor from claims that are well signed but strangely typed.
 */
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { base64url } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/authorizer/authorizer.ts';
import { connectEvent } from './events.ts';
import { claims, signHs256, signHs256Raw } from './tokens.ts';

const USER_ID = /^[A-Za-z0-9_.:@-]{1,64}$/;
const dynamo = mockClient(DynamoDBDocumentClient);
let validToken = '';

/** Passes when the handler allowed a well-formed user or refused with exactly 'Unauthorized'. */
async function expectAllowOrUnauthorized(event: ReturnType<typeof connectEvent>): Promise<void> {
  try {
    const result = await handler(event);
    expect(result.policyDocument.Statement).toEqual([expect.objectContaining({ Effect: 'Allow' })]);
    expect(result.principalId).toMatch(USER_ID);
    expect(result.context?.userId).toBe(result.principalId);
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('Unauthorized');
  }
}

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }));
const segment = (value: unknown) => base64url.encode(JSON.stringify(value) ?? '');

/** Three base64url parts whose JSON is anything, or almost a real header and claim set. */
const jwtShaped = fc
  .tuple(
    fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          alg: fc.oneof(fc.constantFrom('HS256', 'HS512', 'RS256', 'ES256', 'none', 'None'), fc.jsonValue()),
          typ: fc.jsonValue(),
          kid: fc.jsonValue(),
          crit: fc.jsonValue(),
          b64: fc.jsonValue(),
        },
        { requiredKeys: ['alg'] },
      ),
    ),
    fc.jsonValue(),
    fc.oneof(fc.string(), fc.base64String()),
  )
  .map(([header, payload, signature]) => `${segment(header)}.${segment(payload)}.${signature}`);

/** The valid token with one character replaced: mostly a bad signature, sometimes bad base64 or JSON. */
const mutatedValid = fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 1 })).map(([position, char]) => {
  const at = position % validToken.length;
  return `${validToken.slice(0, at)}${char}${validToken.slice(at + 1)}`;
});

const tokenText = fc.oneof(
  text,
  jwtShaped,
  mutatedValid,
  fc.constant('').map(() => validToken),
);

const headerName = (name: string) => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase());

const request = fc.record(
  {
    query: fc.record(
      { token: tokenText, deviceId: fc.oneof(text, fc.constantFrom('phone-1', 'ipad.2:x')) },
      { requiredKeys: [] },
    ),
    authorization: fc.tuple(
      headerName('Authorization'),
      fc.oneof(
        text,
        tokenText.map((t) => `Bearer ${t}`),
      ),
    ),
    subprotocol: fc.tuple(
      headerName('Sec-WebSocket-Protocol'),
      fc.oneof(
        text,
        tokenText.map((t) => `parley, ${t}`),
        fc.array(text),
      ),
    ),
    extraHeaders: fc.dictionary(text, fc.oneof(text, fc.array(text))),
  },
  { requiredKeys: ['extraHeaders'] },
);

beforeAll(async () => {
  validToken = await signHs256(claims());
});

beforeEach(() => {
  dynamo.on(BatchGetCommand).resolves({ Responses: { 'parley-test': [] } });
});

afterEach(() => {
  dynamo.reset();
});

describe('authorizer under arbitrary input', () => {
  it('answers any request with Allow for a valid token or with Unauthorized', async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ query, authorization, subprotocol, extraHeaders }) => {
        const headers: Record<string, string | string[]> = { ...extraHeaders };
        if (authorization) headers[authorization[0]] = authorization[1];
        if (subprotocol) headers[subprotocol[0]] = subprotocol[1];
        const event = connectEvent({ query: query as Record<string, string>, headers });

        await expectAllowOrUnauthorized(event);
      }),
      { numRuns: 500 },
    );
  });

  it('answers correctly signed tokens with arbitrary claims by Allow or Unauthorized', async () => {
    const claimValue = fc.oneof(fc.jsonValue(), text, fc.integer(), fc.double());
    const signedClaims = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          sub: fc.oneof(claimValue, fc.stringMatching(USER_ID)),
          name: claimValue,
          jti: claimValue,
          iat: claimValue,
          nbf: claimValue,
          exp: fc.oneof(claimValue, fc.constant(Math.floor(Date.now() / 1000) + 600)),
          aud: claimValue,
          iss: claimValue,
        },
        { requiredKeys: [] },
      ),
    );

    await fc.assert(
      fc.asyncProperty(signedClaims, async (payload) => {
        const token = await signHs256Raw(JSON.stringify(payload) ?? 'null');

        await expectAllowOrUnauthorized(connectEvent({ query: { token } }));
      }),
      { numRuns: 300 },
    );
  });
});
