/** A `ws` client that queues what it receives, so tests wait for frames and closes instead of sleeping. */
import WebSocket from 'ws';

export interface Client {
  readonly socket: WebSocket;
  /** The next text frame (parsed as JSON when it is JSON), waiting for it if needed. */
  next(): Promise<unknown>;
  /** Frames until one satisfies `match`; earlier frames are dropped. */
  until(match: (frame: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
}

export async function connect(
  url: string,
  options: WebSocket.ClientOptions & { protocols?: string[] } = {},
): Promise<Client> {
  const { protocols, ...rest } = options;
  const socket = new WebSocket(url, protocols, rest);
  const frames: unknown[] = [];
  const waiters: ((frame: unknown) => void)[] = [];
  socket.on('message', (data, isBinary) => {
    const text = isBinary ? data : data.toString();
    let frame: unknown = text;
    try {
      frame = JSON.parse(String(text));
    } catch {
      // plain text frame
    }
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const next = () =>
    frames.length > 0
      ? Promise.resolve(frames.shift())
      : new Promise<unknown>((resolve) => waiters.push(resolve));
  return {
    socket,
    next,
    async until(match) {
      for (;;) {
        const frame = await next();
        if (typeof frame === 'object' && frame !== null && match(frame as Record<string, unknown>)) {
          return frame as Record<string, unknown>;
        }
      }
    },
    closed,
    send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
  };
}

/** The HTTP status with which the server refuses the upgrade. */
export function refusal(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('error', () => undefined);
  });
}
