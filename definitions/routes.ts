/**
 * The WebSocket route table, read by the CDK stack (one Lambda and one route per entry) and by the
 * local API Gateway endpoint (which handler a frame goes to). A new action reaches both by being
 * added here. API Gateway selects the route with `$request.body.action`.
 */
export interface RouteDefinition {
  /** API Gateway route key: `$connect`, `$disconnect`, `$default` or a client `action`. */
  readonly routeKey: string;
  /** Module under functions/routes/ (without extension) exporting `handler`. */
  readonly handler: string;
  /**
   * Two-way route: the handler's returned `body` is sent back to the calling connection (API
   * Gateway route response `$default`), which saves a PostToConnection per reply.
   */
  readonly twoWay: boolean;
  /** Stage throttling override for this route; routes without one use the stage default. */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

/** Stage-wide default route throttling (requests per second across all connections). */
export const DEFAULT_ROUTE_THROTTLE = { rateLimit: 500, burstLimit: 1000 } as const;

export const ROUTES = [
  { routeKey: '$connect', handler: 'connect', twoWay: false },
  { routeKey: '$disconnect', handler: 'disconnect', twoWay: false },
  { routeKey: '$default', handler: 'default', twoWay: true },
  { routeKey: 'sendMessage', handler: 'send-message', twoWay: true },
  // Typing indicators are chatty and cheap to lose: throttle them below messages.
  { routeKey: 'typing', handler: 'typing', twoWay: true, throttle: { rateLimit: 200, burstLimit: 400 } },
  { routeKey: 'markRead', handler: 'mark-read', twoWay: true },
  // Creating groups is rare next to messages, and each one writes up to 102 items.
  {
    routeKey: 'createConversation',
    handler: 'create-conversation',
    twoWay: true,
    throttle: { rateLimit: 50, burstLimit: 100 },
  },
  {
    routeKey: 'registerDevice',
    handler: 'register-device',
    twoWay: true,
    throttle: { rateLimit: 50, burstLimit: 100 },
  },
  {
    routeKey: 'unregisterDevice',
    handler: 'unregister-device',
    twoWay: true,
    throttle: { rateLimit: 50, burstLimit: 100 },
  },
  { routeKey: 'ping', handler: 'ping', twoWay: true },
  // A reconnecting client pages through what it missed: one strongly consistent Query per page.
  { routeKey: 'sync', handler: 'sync', twoWay: true },
  // Changes to stored messages: each is one conditional update, delivered as `messageUpdated`.
  { routeKey: 'editMessage', handler: 'edit-message', twoWay: true },
  { routeKey: 'deleteMessage', handler: 'delete-message', twoWay: true },
  // A reaction burst on a popular message is coalesced by delivery; the route is throttled like typing.
  { routeKey: 'react', handler: 'react', twoWay: true, throttle: { rateLimit: 200, burstLimit: 400 } },
  // A group member leaves (one transaction), or a direct conversation is hidden from the caller's list.
  { routeKey: 'leaveConversation', handler: 'leave-conversation', twoWay: true },
  // One presigned PUT per file (and one small write); throttled like createConversation.
  {
    routeKey: 'requestUpload',
    handler: 'request-upload',
    twoWay: true,
    throttle: { rateLimit: 50, burstLimit: 100 },
  },
  // (1.2) Safety between users: blocking is rare, and each block writes up to four items.
  { routeKey: 'block', handler: 'block', twoWay: true, throttle: { rateLimit: 50, burstLimit: 100 } },
  { routeKey: 'listBlocks', handler: 'list-blocks', twoWay: true },
  // (1.2) Contact policy `requests`: the user a direct conversation was started with accepts it.
  { routeKey: 'acceptRequest', handler: 'accept-request', twoWay: true },
  // (1.2) A member reports a message or a conversation: rare, and one transaction of up to 51 items.
  { routeKey: 'report', handler: 'report', twoWay: true, throttle: { rateLimit: 50, burstLimit: 100 } },
] as const satisfies readonly RouteDefinition[];

/** A route's key: every table, list and map that must cover each route is typed by it. */
export type RouteKey = (typeof ROUTES)[number]['routeKey'];

/** The REQUEST authorizer on `$connect`: module under functions/authorizer/. */
export const AUTHORIZER = { handler: 'authorizer' } as const;
