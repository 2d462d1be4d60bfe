/**
 * `POST /_local/dev-token` `{ "userId": "alice", "name"?: "Alice" }` → `{ "token", "userId" }`: lets the
 * demo page (local/demo/) log in as anyone, as `npm run token` does on the command line. Local only:
 * like every `/_local/` path, other machines need the admin key (http/admin-access.ts). The tokens are
 * signed with the local secret, whose default is public anyway, so they grant nothing beyond this stack.
 */
import { isUserId } from '../functions/domain/identifiers.ts';
import { signDevToken } from './dev-token.ts';
import { json, type LocalRequest, type LocalResponse, type LocalRoutes } from './http/local-routes.ts';

export const DEV_TOKEN_PATH = '/_local/dev-token';
/** As long as `npm run token`'s default; the demo fetches a fresh token at every (re)connect. */
const TTL_SECONDS = 3600;
const MAX_NAME_CHARS = 100;
const USER_ID_RULE = '1-64 characters of A-Z a-z 0-9 _ . : @ -';

export function addDevTokenRoute(routes: LocalRoutes): void {
  routes.add('POST', DEV_TOKEN_PATH, issueDevToken);
}

async function issueDevToken(request: LocalRequest): Promise<LocalResponse> {
  const body = parseObject(request.body.toString('utf8'));
  if (body === undefined) return json(400, { message: 'The body must be a JSON object: {"userId":"alice"}' });
  const { userId, name } = body;
  if (typeof userId !== 'string' || !isUserId(userId)) {
    return json(400, { message: `userId must be ${USER_ID_RULE}` });
  }
  if (name !== undefined && (typeof name !== 'string' || name.length > MAX_NAME_CHARS)) {
    return json(400, { message: `name must be a string of at most ${MAX_NAME_CHARS} characters` });
  }
  const token = await signDevToken(userId, { name: name || undefined, ttlSeconds: TTL_SECONDS });
  return json(200, { token, userId });
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
