/**
 * @parley/server's requests, with a stubbed fetch: each operation's method, path, query and JSON body,
 * its answer, and its SigV4 signature checked by signing the captured request again with AWS's signer.
 */
import { afterEach, beforeEach, describe, expect, it, type Mock, vi } from 'vitest';
import { ParleyServer } from '../../../server/src/index.ts';
import {
  awsQuery,
  expectedSignature,
  expectSignedBy,
  json,
  LOCAL_KEYS,
  parseAuthorization,
  sent,
} from './support.ts';

let fetchMock: Mock<typeof fetch>;

beforeEach(() => {
  fetchMock = vi.fn<typeof fetch>();
  vi.stubGlobal('fetch', fetchMock);
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

const conversation = {
  conversationId: 'dm:alice:bob',
  kind: 'direct',
  members: ['alice', 'bob'],
  title: null,
  createdAt: '2026-11-23T10:30:00.000Z',
};
const sentMessage = {
  conversationId: 'g1',
  messageId: 'msg-1',
  seq: 7,
  version: 12,
  createdAt: '2026-11-23T10:30:00.000Z',
  duplicate: false,
};
const page = {
  messages: [
    {
      conversationId: 'g1',
      messageId: 'msg-1',
      seq: 7,
      senderId: 'system',
      content: 'Welcome',
      createdAt: '2026-11-23T10:30:00.000Z',
      clientMessageId: 'c1',
      version: 12,
    },
  ],
  hasMore: false,
  version: 12,
};
const reports = {
  reports: [
    {
      reportId: 'r1',
      status: 'open',
      reason: 'spam',
      conversationId: 'g1',
      reporterId: 'alice',
      createdAt: '2026-11-23T10:30:00.000Z',
    },
  ],
};

interface Case {
  readonly name: string;
  readonly call: (server: ParleyServer) => Promise<unknown>;
  readonly method: string;
  /** The path as sent, percent-encoded. */
  readonly path: string;
  readonly query?: Record<string, string>;
  /** The JSON body; undefined when none is sent. */
  readonly body?: unknown;
  readonly write: boolean;
  readonly status?: number;
  readonly answer: unknown;
}

const CASES: Case[] = [
  {
    name: 'createConversation (direct)',
    call: (s) => s.createConversation({ members: ['alice', 'bob'] }),
    method: 'POST',
    path: '/v1/conversations',
    body: { members: ['alice', 'bob'] },
    write: true,
    status: 201,
    answer: conversation,
  },
  {
    name: 'createConversation (group)',
    call: (s) => s.createConversation({ members: ['alice', 'bob', 'carol'], title: 'Trip' }),
    method: 'POST',
    path: '/v1/conversations',
    body: { members: ['alice', 'bob', 'carol'], title: 'Trip' },
    write: true,
    status: 201,
    answer: {
      ...conversation,
      conversationId: 'g1',
      kind: 'group',
      members: ['alice', 'bob', 'carol'],
      title: 'Trip',
    },
  },
  {
    name: 'sendMessage',
    call: (s) => s.sendMessage('g1', { clientMessageId: 'c1', content: 'Welcome', senderId: 'system' }),
    method: 'POST',
    path: '/v1/conversations/g1/messages',
    body: { clientMessageId: 'c1', content: 'Welcome', senderId: 'system' },
    write: true,
    status: 201,
    answer: sentMessage,
  },
  {
    name: 'listMessages (no query)',
    call: (s) => s.listMessages('g1'),
    method: 'GET',
    path: '/v1/conversations/g1/messages',
    query: {},
    write: false,
    answer: page,
  },
  {
    name: 'listMessages (afterSeq, limit)',
    call: (s) => s.listMessages('g1', { afterSeq: 6, limit: 50 }),
    method: 'GET',
    path: '/v1/conversations/g1/messages',
    query: { afterSeq: '6', limit: '50' },
    write: false,
    answer: page,
  },
  {
    name: 'listMessages (afterVersion)',
    call: (s) => s.listMessages('g1', { afterVersion: 11 }),
    method: 'GET',
    path: '/v1/conversations/g1/messages',
    query: { afterVersion: '11' },
    write: false,
    answer: page,
  },
  {
    name: 'listReports',
    call: (s) => s.listReports({ status: 'open' }),
    method: 'GET',
    path: '/v1/reports',
    query: { status: 'open' },
    write: false,
    answer: reports,
  },
  {
    name: 'listReports (all)',
    call: (s) => s.listReports(),
    method: 'GET',
    path: '/v1/reports',
    query: {},
    write: false,
    answer: reports,
  },
  {
    name: 'resolveReport',
    call: (s) => s.resolveReport('r1', { note: 'warned the sender' }),
    method: 'POST',
    path: '/v1/reports/r1/resolve',
    body: { note: 'warned the sender' },
    write: true,
    answer: { reportId: 'r1', status: 'resolved' },
  },
  {
    name: 'resolveReport (no note)',
    call: (s) => s.resolveReport('r1'),
    method: 'POST',
    path: '/v1/reports/r1/resolve',
    body: {},
    write: true,
    answer: { reportId: 'r1', status: 'resolved' },
  },
  {
    name: 'block',
    call: (s) => s.block('alice', 'bob'),
    method: 'PUT',
    path: '/v1/users/alice/blocks/bob',
    body: {},
    write: true,
    answer: { userId: 'alice', blocked: 'bob' },
  },
  {
    name: 'unblock',
    call: (s) => s.unblock('alice', 'bob'),
    method: 'DELETE',
    path: '/v1/users/alice/blocks/bob',
    write: true,
    answer: { userId: 'alice' },
  },
  {
    name: 'deactivate',
    call: (s) => s.deactivate('alice'),
    method: 'POST',
    path: '/v1/users/alice/deactivate',
    body: {},
    write: true,
    answer: { userId: 'alice', status: 'deactivated' },
  },
  {
    name: 'reactivate',
    call: (s) => s.reactivate('alice'),
    method: 'POST',
    path: '/v1/users/alice/reactivate',
    body: {},
    write: true,
    answer: { userId: 'alice', status: 'active' },
  },
  {
    name: 'revoke',
    call: (s) => s.revoke('alice'),
    method: 'POST',
    path: '/v1/users/alice/revoke',
    body: {},
    write: true,
    answer: { userId: 'alice' },
  },
];

describe('each operation', () => {
  it.each(CASES)('$name: $method $path', async (c) => {
    fetchMock.mockResolvedValue(json(c.status ?? 200, c.answer));
    const server = ParleyServer.local();

    await expect(c.call(server)).resolves.toEqual(c.answer);

    expect(fetchMock).toHaveBeenCalledTimes(1);
    const request = sent(fetchMock);
    expect(request.method).toBe(c.method);
    expect(`${request.url.origin}${request.url.pathname}`).toBe(`http://127.0.0.1:3001${c.path}`);
    expect(awsQuery(request.url)).toEqual(c.query ?? {});
    if (c.body === undefined) {
      expect(request.body).toBeUndefined();
      expect(request.headers['content-type']).toBeUndefined();
    } else {
      expect(JSON.parse(request.body ?? '')).toEqual(c.body);
      expect(request.headers['content-type']).toBe('application/json');
    }
    if (c.write) {
      expect(request.headers['idempotency-key']).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    } else {
      expect(request.headers).not.toHaveProperty('idempotency-key');
    }
    expect(request.headers).not.toHaveProperty('host');

    const authorization = await expectSignedBy(request, LOCAL_KEYS, 'local');
    // What the signature covers: the host, the date, the body's hash and, on writes, the key and type.
    expect(authorization.signedHeaders).toEqual(
      expect.arrayContaining(
        c.write
          ? ['host', 'x-amz-date', 'x-amz-content-sha256', 'idempotency-key']
          : ['host', 'x-amz-date', 'x-amz-content-sha256'],
      ),
    );
  });

  it('answers {} to a 204', async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await expect(ParleyServer.local().revoke('alice')).resolves.toEqual({});
  });
});

describe('paths and queries', () => {
  it('URL-encodes each path parameter as one segment, and the signature covers the encoded path', async () => {
    fetchMock.mockResolvedValue(json(201, sentMessage));
    await ParleyServer.local().sendMessage('dm:alice@example.com/bob ?#%', {
      clientMessageId: 'c1',
      content: 'hi',
      senderId: 'alice@example.com',
    });
    const request = sent(fetchMock);
    expect(request.url.pathname).toBe(
      '/v1/conversations/dm%3Aalice%40example.com%2Fbob%20%3F%23%25/messages',
    );
    expect(request.url.search).toBe('');
    await expectSignedBy(request, LOCAL_KEYS, 'local');
  });

  it('encodes both ids of block and unblock', async () => {
    fetchMock.mockImplementation(async () => json(200, {}));
    const server = ParleyServer.local();
    await server.block('a/b', 'c@d');
    await server.unblock('a/b', 'c@d');
    expect(sent(fetchMock, 0).url.pathname).toBe('/v1/users/a%2Fb/blocks/c%40d');
    expect(sent(fetchMock, 1).url.pathname).toBe('/v1/users/a%2Fb/blocks/c%40d');
    expect(sent(fetchMock, 1).method).toBe('DELETE');
  });

  it('builds the query with URLSearchParams, a space as %20 (SigV4 reads `+` as a plus), and signs it', async () => {
    fetchMock.mockResolvedValue(json(200, reports));
    await ParleyServer.local().listReports({ status: 'open & x=a+b ~*' });
    const request = sent(fetchMock);
    expect(request.url.search).toBe('?status=open%20%26%20x%3Da%2Bb%20%7E*');
    expect(awsQuery(request.url)).toEqual({ status: 'open & x=a+b ~*' });
    await expectSignedBy(request, LOCAL_KEYS, 'local');
  });

  it('refuses an empty or dot-segment id before sending anything', async () => {
    const server = ParleyServer.local();
    await expect(server.deactivate('')).rejects.toThrow(TypeError);
    await expect(server.listMessages('..')).rejects.toThrow(TypeError);
    await expect(server.block('alice', '.')).rejects.toThrow(TypeError);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('keeps the base URL path (an API stage) and drops its trailing slash', async () => {
    fetchMock.mockResolvedValue(json(200, {}));
    const server = new ParleyServer({
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    expect(server.url).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
    await server.revoke('alice');
    const request = sent(fetchMock);
    expect(request.url.href).toBe(
      'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/users/alice/revoke',
    );
    await expectSignedBy(request, { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, 'eu-west-1');
  });
});

describe('signing', () => {
  it('signs for execute-api in the region of an execute-api URL, with the session token when there is one', async () => {
    fetchMock.mockResolvedValue(json(200, {}));
    const credentials = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token/+=' };
    const server = new ParleyServer({
      url: 'https://abc123.execute-api.ap-southeast-2.amazonaws.com',
      credentials,
    });
    expect(server.region).toBe('ap-southeast-2');
    await server.deactivate('alice');
    const request = sent(fetchMock);
    expect(request.headers['x-amz-security-token']).toBe('token/+=');
    const authorization = await expectSignedBy(request, credentials, 'ap-southeast-2');
    expect(authorization.signedHeaders).toContain('x-amz-security-token');
  });

  it('takes the region given over the URL, and AWS_REGION for another URL', async () => {
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const keys = { accessKeyId: 'A', secretAccessKey: 'B' };
    expect(new ParleyServer({ url: 'https://api.example.com', credentials: keys }).region).toBe(
      'eu-central-1',
    );
    expect(
      new ParleyServer({
        url: 'https://x.execute-api.us-east-1.amazonaws.com',
        region: 'us-west-2',
        credentials: keys,
      }).region,
    ).toBe('us-west-2');
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    expect(() => new ParleyServer({ url: 'https://api.example.com', credentials: keys })).toThrow(/region/);
    expect(() => new ParleyServer({ url: 'wss://api.example.com', region: 'x', credentials: keys })).toThrow(
      TypeError,
    );
  });

  it('asks a credential provider before each signature', async () => {
    fetchMock.mockImplementation(async () => json(200, {}));
    let n = 0;
    const provider = vi.fn(async () => {
      n += 1;
      return { accessKeyId: `KEY${n}`, secretAccessKey: `secret${n}` };
    });
    const server = new ParleyServer({
      url: 'https://api.example.com',
      region: 'eu-west-1',
      credentials: provider,
    });
    await server.revoke('alice');
    await server.revoke('bob');
    expect(provider).toHaveBeenCalledTimes(2);
    await expectSignedBy(
      sent(fetchMock, 0),
      { accessKeyId: 'KEY1', secretAccessKey: 'secret1' },
      'eu-west-1',
    );
    await expectSignedBy(
      sent(fetchMock, 1),
      { accessKeyId: 'KEY2', secretAccessKey: 'secret2' },
      'eu-west-1',
    );
  });

  it("uses the AWS SDK's default credential chain when none are given (here: the environment)", async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENV');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-from-env');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    fetchMock.mockResolvedValue(json(200, {}));
    await new ParleyServer({ url: 'http://127.0.0.1:3001', region: 'local' }).revoke('alice');
    await expectSignedBy(
      sent(fetchMock),
      { accessKeyId: 'AKIDFROMENV', secretAccessKey: 'secret-from-env' },
      'local',
    );
  });

  it('ParleyServer.local() signs with the local credentials, or those of the environment', async () => {
    fetchMock.mockImplementation(async () => json(200, {}));
    const local = ParleyServer.local();
    expect(local.url).toBe('http://127.0.0.1:3001');
    expect(local.region).toBe('local');
    await local.revoke('alice');
    await expectSignedBy(sent(fetchMock), LOCAL_KEYS, 'local');

    vi.stubEnv('PARLEY_LOCAL_ACCESS_KEY_ID', 'OTHERKEY');
    vi.stubEnv('PARLEY_LOCAL_SECRET_ACCESS_KEY', 'other-secret');
    const other = ParleyServer.local({ url: 'http://localhost:4000/' });
    await other.revoke('alice');
    const request = sent(fetchMock);
    expect(request.url.href).toBe('http://localhost:4000/v1/users/alice/revoke');
    await expectSignedBy(request, { accessKeyId: 'OTHERKEY', secretAccessKey: 'other-secret' }, 'local');
  });

  it('a signature checked with another secret, or over another body, does not match', async () => {
    fetchMock.mockResolvedValue(json(201, sentMessage));
    await ParleyServer.local().sendMessage('g1', { clientMessageId: 'c1', content: 'hi', senderId: 'alice' });
    const request = sent(fetchMock);
    const { signature } = parseAuthorization(request.headers.authorization);
    expect(await expectedSignature(request, LOCAL_KEYS, 'local')).toBe(signature);
    expect(await expectedSignature(request, { ...LOCAL_KEYS, secretAccessKey: 'wrong' }, 'local')).not.toBe(
      signature,
    );
    expect(await expectedSignature(request, LOCAL_KEYS, 'eu-west-1')).not.toBe(signature);
    const tampered = { ...request, headers: { ...request.headers, 'idempotency-key': 'another' } };
    expect(await expectedSignature(tampered, LOCAL_KEYS, 'local')).not.toBe(signature);
  });
});

describe('idempotency keys', () => {
  it('sends the key the caller gives, and a fresh one per call otherwise', async () => {
    fetchMock.mockImplementation(async () => json(201, sentMessage));
    const server = ParleyServer.local();
    const input = { clientMessageId: 'c1', content: 'hi', senderId: 'alice' };
    await server.sendMessage('g1', input, { idempotencyKey: 'order-42:welcome' });
    await server.sendMessage('g1', input);
    await server.sendMessage('g1', input);
    const keys = fetchMock.mock.calls.map((_, i) => sent(fetchMock, i).headers['idempotency-key']);
    expect(keys[0]).toBe('order-42:welcome');
    expect(new Set(keys).size).toBe(3);
  });

  it('refuses a key the server would refuse, before sending', async () => {
    const server = ParleyServer.local();
    await expect(server.revoke('alice', { idempotencyKey: '' })).rejects.toThrow(TypeError);
    await expect(server.revoke('alice', { idempotencyKey: 'has space' })).rejects.toThrow(TypeError);
    await expect(server.revoke('alice', { idempotencyKey: 'k'.repeat(129) })).rejects.toThrow(TypeError);
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
