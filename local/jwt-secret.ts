/**
 * The HS256 secret the local stack's authorizer uses when `JWT_SECRET` is unset, and that
 * `npm run token` signs with. A module of its own so the token tool starts without loading the stack.
 */
export const DEFAULT_JWT_SECRET = 'parley-local-secret';
