/**
 * Which operation of the server API a request names (definitions/server-api.ts), from its method and
 * path, as API Gateway's HTTP API matches its routes: `{name}` is one non-empty segment; an encoded `/`
 * (`%2F`) in a segment, a malformed escape or a `.`/`..` segment matches nothing. The local stack
 * matches with it to build the event API Gateway would send; the handler finds the operation from the
 * event's route key.
 */
import {
  type HttpMethod,
  SERVER_API_OPERATIONS,
  type ServerApiOperation,
} from '../../definitions/server-api.ts';

interface CompiledOperation {
  readonly operation: ServerApiOperation;
  readonly method: HttpMethod;
  readonly routeKey: string;
  /** `/`-separated, after the leading `/`: a literal segment or a `{name}` parameter. */
  readonly segments: readonly ({ readonly literal: string } | { readonly name: string })[];
}

const OPERATIONS: readonly CompiledOperation[] = SERVER_API_OPERATIONS.map((operation) => ({
  operation,
  method: operation.method,
  routeKey: `${operation.method} ${operation.path}`,
  segments: operation.path
    .split('/')
    .slice(1)
    .map((segment) => {
      const name = /^\{(\w+)\}$/.exec(segment)?.[1];
      return name === undefined ? { literal: segment } : { name };
    }),
}));

export interface MatchedOperation {
  readonly operation: ServerApiOperation;
  readonly routeKey: string;
  readonly pathParameters: Record<string, string>;
  /** The path decoded, as API Gateway's HTTP API gives it to the integration. */
  readonly decodedPath: string;
}

/**
 * The operation a method and raw path call, with its decoded path parameters, or undefined. Like the
 * HTTP API: `{name}` is one non-empty segment; an encoded `/` (`%2F`) in a segment, a malformed escape
 * or a `.`/`..` segment matches nothing.
 */
export function matchOperation(method: string, rawPath: string): MatchedOperation | undefined {
  const decoded: string[] = [];
  for (const segment of rawPath.split('/').slice(1)) {
    let value: string;
    try {
      value = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    if (value.includes('/') || value === '.' || value === '..') return undefined;
    decoded.push(value);
  }
  for (const operation of OPERATIONS) {
    if (operation.method !== method || operation.segments.length !== decoded.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = operation.segments.every((segment, index) => {
      const value = decoded[index] ?? '';
      if ('literal' in segment) return value === segment.literal;
      if (value === '') return false;
      pathParameters[segment.name] = value;
      return true;
    });
    if (matches) {
      return {
        operation: operation.operation,
        routeKey: operation.routeKey,
        pathParameters,
        decodedPath: `/${decoded.join('/')}`,
      };
    }
  }
  return undefined;
}

/** The operation of an HTTP API route key (`POST /v1/conversations`), or undefined. */
export function operationOfRouteKey(routeKey: string): ServerApiOperation | undefined {
  return OPERATIONS.find((compiled) => compiled.routeKey === routeKey)?.operation;
}
