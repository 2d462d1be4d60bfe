/**
 * Endpoints that exist only in the local stack, all under `/_local/`. Each feature registers its own
 * (push recorder, fake SNS, and later the operations endpoints of protocol.md) with a path pattern
 * whose `{name}` segments arrive URL-decoded in `params`.
 */
export interface LocalRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface LocalResponse {
  readonly statusCode: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export type LocalRouteHandler = (request: LocalRequest) => LocalResponse | Promise<LocalResponse>;

interface Entry {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: string[];
  readonly handler: LocalRouteHandler;
}

export const LOCAL_PREFIX = '/_local/';

export class LocalRoutes {
  readonly #entries: Entry[] = [];

  /** `path` starts with `/_local/`; `{name}` matches one path segment. */
  add(method: string, path: string, handler: LocalRouteHandler): this {
    if (!path.startsWith(LOCAL_PREFIX)) throw new Error(`Local routes live under ${LOCAL_PREFIX}: ${path}`);
    const names: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        const name = /^\{(\w+)\}$/.exec(segment)?.[1];
        if (name === undefined) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(name);
        return '([^/]+)';
      })
      .join('/');
    this.#entries.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** The handler and decoded params for a request, 'method' when only the method is wrong, or undefined. */
  match(
    method: string,
    pathname: string,
  ): { handler: LocalRouteHandler; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const entry of this.#entries) {
      const match = entry.pattern.exec(pathname);
      if (match === null) continue;
      pathMatched = true;
      if (entry.method !== method) continue;
      const params = Object.fromEntries(
        entry.names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? '')]),
      );
      return { handler: entry.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

export function json(statusCode: number, value: unknown): LocalResponse {
  return { statusCode, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) };
}

export const noContent: LocalResponse = { statusCode: 204 };
