/**
 * protocol.md "Operations" over HTTP, in the local stack only: the same domain functions an operator's
 * command line runs against a deployed stack (functions/domain/operations.ts), so a mobile developer can
 * deactivate a test user and watch their app react. Each answers 204; an id that could not be a user
 * id or a `jti` is 400. Loaded on first use, after the handlers' environment points at this stack.
 */
import { isUserId } from '../functions/domain/identifiers.ts';
import { json, type LocalRoutes, noContent } from './http/local-routes.ts';

type Operations = typeof import('../functions/domain/operations.ts');
let operations: Promise<Operations> | undefined;
const load = (): Promise<Operations> => {
  operations ??= import('../functions/domain/operations.ts');
  return operations;
};

/** Who asked, for the operation's log line. */
const BY = 'local-http';
const MAX_JTI_CHARS = 256;

export function addOperationsRoutes(routes: LocalRoutes): void {
  const onUser =
    (run: (ops: Operations, userId: string) => Promise<unknown>) =>
    async ({ params }: { params: Readonly<Record<string, string>> }) => {
      const userId = params.userId ?? '';
      if (!isUserId(userId)) return json(400, { message: `not a user id: ${JSON.stringify(userId)}` });
      await run(await load(), userId);
      return noContent;
    };
  routes
    .add(
      'POST',
      '/_local/users/{userId}/deactivate',
      onUser((ops, userId) => ops.deactivateUser(userId, BY)),
    )
    .add(
      'POST',
      '/_local/users/{userId}/reactivate',
      onUser((ops, userId) => ops.reactivateUser(userId, BY)),
    )
    .add(
      'POST',
      '/_local/users/{userId}/revoke',
      onUser((ops, userId) => ops.revokeSessions(userId, BY)),
    )
    .add('POST', '/_local/tokens/{jti}/revoke', async ({ params }) => {
      const jti = params.jti ?? '';
      if (jti === '' || jti.length > MAX_JTI_CHARS) return json(400, { message: 'not a jti' });
      await (await load()).revokeToken(jti, BY);
      return noContent;
    });
}
