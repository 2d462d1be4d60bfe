/**
 * The per-route tables of the tests (the hostile frames of test/support/hostile-frames.ts, the handler
 * fuzz of test/unit/routes/routes.fuzz.test.ts, the rows of test/integration/authorization-matrix.test.ts)
 * are maps over every route of definitions/routes.ts, typed `satisfies Record<RouteKey, …>`: a route
 * added there does not compile until each of them says what it does with it. A route no client frame
 * can reach says so with NOT_A_FRAME_ROUTE rather than by being left out.
 */
import type { RouteKey } from '../../definitions/routes.ts';
import { ROUTES } from '../../definitions/routes.ts';

/**
 * `$connect` and `$disconnect`: API Gateway runs them on the upgrade request and on the close, with no
 * frame (protocol.md, "Connecting"); what refuses a connection is the authorizer's business.
 */
export const NOT_A_FRAME_ROUTE = 'not a frame route';
export type NotAFrameRoute = typeof NOT_A_FRAME_ROUTE;

/** The routes a table gives something for (all but its NOT_A_FRAME_ROUTE ones), in the route table's order. */
export type FrameRoutesOf<Table extends Record<RouteKey, unknown>> = {
  [Key in RouteKey]: Table[Key] extends NotAFrameRoute ? never : Key;
}[RouteKey];

/** A table's entries in the order of definitions/routes.ts, without the routes that take no frame. */
export function frameRouteEntries<Table extends Record<RouteKey, unknown>>(
  table: Table,
): [FrameRoutesOf<Table>, Exclude<Table[RouteKey], NotAFrameRoute>][] {
  return ROUTES.flatMap(({ routeKey }) => {
    const entry = table[routeKey];
    return entry === NOT_A_FRAME_ROUTE
      ? []
      : [[routeKey as FrameRoutesOf<Table>, entry as Exclude<Table[RouteKey], NotAFrameRoute>]];
  });
}
