/**
 * API Gateway's route selection: the value at the route selection expression (`$request.body.action`)
 * picks the route; anything else (not JSON, no such field, an unknown action) goes to `$default`.
 */
export type RouteSelector = (body: string) => string;

export function routeSelector(expression: string, routeKeys: Iterable<string>): RouteSelector {
  const match = /^\$request\.body\.([A-Za-z0-9_.]+)$/.exec(expression);
  if (!match?.[1]) throw new Error(`Unsupported route selection expression: ${expression}`);
  const path = match[1].split('.');
  // `$connect`, `$disconnect` and `$default` are never selected by a message's content.
  const selectable = new Set([...routeKeys].filter((key) => !key.startsWith('$')));
  return (body) => {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return '$default';
    }
    for (const segment of path) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return '$default';
      value = (value as Record<string, unknown>)[segment];
    }
    return typeof value === 'string' && selectable.has(value) ? value : '$default';
  };
}
