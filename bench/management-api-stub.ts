/**
 * A stand-in for API Gateway's `@connections` management API, on 127.0.0.1, for the request-unit
 * count: PostToConnection succeeds for the connections the scenario opened (410 for any other), and
 * the frames are kept so the benchmark can check that delivery really reached the recipient.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PostedFrame {
  readonly connectionId: string;
  readonly frame: Record<string, unknown>;
}

export interface ManagementApiStub {
  readonly url: string;
  readonly posted: PostedFrame[];
  open(connectionId: string): void;
  close(): Promise<void>;
}

export async function startManagementApiStub(): Promise<ManagementApiStub> {
  const open = new Set<string>();
  const posted: PostedFrame[] = [];
  const server = createServer((request, response) => {
    const connectionId = decodeURIComponent(/\/@connections\/([^/?]+)/.exec(request.url ?? '')?.[1] ?? '');
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || !open.has(connectionId)) {
        response.writeHead(410, { 'content-type': 'application/json' }).end('{"message":"Gone"}');
        return;
      }
      posted.push({ connectionId, frame: JSON.parse(Buffer.concat(chunks).toString()) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posted,
    open: (connectionId) => open.add(connectionId),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
