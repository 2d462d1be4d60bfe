/**
 * A stand-in for API Gateway's `@connections` management API and for SNS, on 127.0.0.1, for the
 * request-unit count. PostToConnection succeeds for the connections the scenario opened (410 for any
 * other), and the frames are kept so the benchmark can check that delivery really reached the
 * recipient. Every other POST is an SNS call (the handlers get `SNS_ENDPOINT` = this URL), answered by
 * the local stack's fake SNS, so registration gets a real endpoint ARN and a push is checked like one
 * SNS would send; the action of each call is kept so the benchmark can count the Publish calls.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setLocalLogSink } from '../local/log.ts';
import { FakeSns } from '../local/push/fake-sns.ts';
import type { PushRecord } from '../local/push/push-record.ts';

export interface PostedFrame {
  readonly connectionId: string;
  readonly frame: Record<string, unknown>;
}

export interface ManagementApiStub {
  readonly url: string;
  readonly posted: PostedFrame[];
  /** The `Action` of every SNS call, in order (`CreatePlatformEndpoint`, `Publish`, …). */
  readonly snsActions: string[];
  /** The pushes the fake SNS accepted. */
  pushes(): readonly PushRecord[];
  open(connectionId: string): void;
  close(): Promise<void>;
}

const CONNECTIONS_PATH = /^\/@connections\/([^/?]+)/;

export async function startManagementApiStub(): Promise<ManagementApiStub> {
  // The fake SNS logs each push to stdout, between the benchmark's tables; nothing else in this
  // process logs there (the latency part runs its local stack in a child process).
  setLocalLogSink(() => undefined);
  const sns = new FakeSns();
  const open = new Set<string>();
  const posted: PostedFrame[] = [];
  const snsActions: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const connection = CONNECTIONS_PATH.exec(request.url ?? '');
      if (connection === null && request.method === 'POST') {
        snsActions.push(new URLSearchParams(body).get('Action') ?? '');
        const reply = sns.handle(body);
        response.writeHead(reply.statusCode, { 'content-type': 'text/xml' }).end(reply.body);
        return;
      }
      const connectionId = decodeURIComponent(connection?.[1] ?? '');
      if (request.method !== 'POST' || !open.has(connectionId)) {
        response.writeHead(410, { 'content-type': 'application/json' }).end('{"message":"Gone"}');
        return;
      }
      posted.push({ connectionId, frame: JSON.parse(body) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posted,
    snsActions,
    pushes: () => sns.pushes(),
    open: (connectionId) => open.add(connectionId),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
