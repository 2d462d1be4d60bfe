/**
 * Finds the JWT in a `$connect` request. Clients choose where to put it (protocol.md "Connecting"):
 * the `token` query parameter (always works), `Authorization: Bearer` (native clients), or the
 * subprotocol list `parley, <jwt>` (browsers that keep tokens out of URLs and access logs). When a
 * request carries several, the first in that order wins, so the choice never depends on header order.
 */
import type { WebSocketConnectAuthorizerEvent } from './event.ts';

export type TokenSource = 'query' | 'header' | 'subprotocol';

export interface FoundToken {
  token: string;
  source: TokenSource;
}

type RequestParts = Pick<
  WebSocketConnectAuthorizerEvent,
  'headers' | 'multiValueHeaders' | 'queryStringParameters' | 'multiValueQueryStringParameters'
>;

export const SUBPROTOCOL = 'parley';
const BEARER = /^bearer +(\S+) *$/i;

export function findToken(request: RequestParts): FoundToken | undefined {
  const query = queryParameter(request, 'token');
  if (query !== undefined && query !== '') return { token: query, source: 'query' };

  const bearer = BEARER.exec(headerValues(request, 'authorization').at(-1) ?? '')?.[1];
  if (bearer !== undefined) return { token: bearer, source: 'header' };

  const fromSubprotocol = subprotocolToken(headerValues(request, 'sec-websocket-protocol'));
  if (fromSubprotocol !== undefined) return { token: fromSubprotocol, source: 'subprotocol' };

  return undefined;
}

/** API Gateway puts the last value of a repeated parameter in the single-value map; both maps agree. */
export function queryParameter(request: RequestParts, name: string): string | undefined {
  const single = request.queryStringParameters?.[name];
  if (typeof single === 'string') return single;
  const multi = request.multiValueQueryStringParameters?.[name]?.at(-1);
  return typeof multi === 'string' ? multi : undefined;
}

/**
 * Every value of a header, matched case-insensitively (clients and proxies spell header names as they
 * like). The multi-value map keeps repeated headers that the single-value map collapses.
 */
function headerValues(request: RequestParts, name: string): string[] {
  const multi = matching(request.multiValueHeaders, name).flatMap((values) => values ?? []);
  if (multi.length > 0) return multi.filter((value) => typeof value === 'string');
  return matching(request.headers, name).filter((value) => typeof value === 'string');
}

function matching<V>(map: Record<string, V> | null | undefined, name: string): V[] {
  if (map === null || map === undefined) return [];
  return Object.entries(map)
    .filter(([key]) => key.toLowerCase() === name)
    .map(([, value]) => value);
}

/**
 * RFC 6455: the subprotocol list is comma-separated and may span several header lines. The token is the
 * entry right after `parley`; the $connect route answers with `parley` alone.
 */
function subprotocolToken(values: string[]): string | undefined {
  const entries = values.flatMap((value) => value.split(',')).map((entry) => entry.trim());
  const index = entries.indexOf(SUBPROTOCOL);
  const token = index === -1 ? undefined : entries[index + 1];
  return token === undefined || token === '' ? undefined : token;
}
