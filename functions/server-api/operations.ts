/**
 * What each operation of the server API does (integration.md), on the same domain functions the
 * WebSocket routes and the operators' tools use: the app's backend goes through the same rules (the
 * send hook, blocks, rate limits; architecture.md guarantee 13), as whichever user it acts for.
 */
import * as z from 'zod/mini';
import { REPORT_STATUSES } from '../../definitions/reports.ts';
import { SERVER_API, type ServerApiOperationName, SYSTEM_SENDER } from '../../definitions/server-api.ts';
import { sendHook } from '../adapters/send-hook.ts';
import { createForBackend } from '../domain/backend-conversations.ts';
import { block } from '../domain/blocks.ts';
import { BadRequestError } from '../domain/errors.ts';
import { BACKEND_READER } from '../domain/message-readers.ts';
import { deactivateUser, reactivateUser, revokeSessions } from '../domain/operations.ts';
import { listReports, MAX_REPORT_LIST, resolveReport } from '../domain/report-queue.ts';
import { sendMessage } from '../domain/send-message.ts';
import { syncChanges } from '../domain/sync-changes.ts';
import { syncMessages } from '../domain/sync-messages.ts';
import { sendSystemMessage } from '../domain/system-messages.ts';
import { messageVersion } from '../domain/versions.ts';
import { clientMessageId, conversationId, SYNC_LIMITS, userId } from '../shared/id-schemas.ts';
import { validate } from '../shared/validate.ts';

export interface ApiRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body (undefined without one). */
  readonly body: unknown;
  readonly now: Date;
  /** The request's Idempotency-Key, or its request id for a read. */
  readonly requestKey: string;
  /** Who is calling, for the operators' logs and records (the signer's IAM identity). */
  readonly by: string;
}

export interface ApiAnswer {
  readonly statusCode: number;
  readonly body: unknown;
}

const ok = (body: unknown): ApiAnswer => ({ statusCode: 200, body });
const created = (body: unknown): ApiAnswer => ({ statusCode: 201, body });

/** A path parameter as its schema allows it; a bad one is 400, as a bad body is. */
const param = <S extends z.ZodMiniType>(schema: S, request: ApiRequest, name: string): z.infer<S> =>
  validate(z.object({ [name]: schema }), request.params)[name] as z.infer<S>;

const createConversationBody = z.object({
  members: z.array(userId),
  title: z.optional(z.nullable(z.string())),
});

const sendMessageBody = z.object({
  // A member, or the backend's own notices.
  senderId: z.union([userId, z.literal(SYSTEM_SENDER)]),
  clientMessageId,
  content: z.string(),
});

const resolveBody = z.optional(z.object({ note: z.optional(z.string()) }));

/** A whole number in the query string, within bounds, or undefined when absent. */
function wholeNumber(request: ApiRequest, name: string, min: number, max: number): number | undefined {
  const raw = request.query[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new BadRequestError(`${name}: a whole number from ${min} to ${max}`);
  }
  return value;
}

type Operation = (request: ApiRequest) => Promise<ApiAnswer>;

/** The operations this version serves (the others of definitions/server-api.ts are 404). */
export const OPERATIONS: Partial<Record<ServerApiOperationName, Operation>> = {
  async createConversation(request) {
    const { members, title } = validate(createConversationBody, request.body ?? {});
    const { conversation, created: isNew } = await createForBackend({
      members,
      title,
      requestKey: request.requestKey,
      now: request.now,
    });
    const { conversationId: id, kind, title: stored, createdAt } = conversation;
    const answer = { conversationId: id, kind, members: conversation.members, title: stored, createdAt };
    return isNew ? created(answer) : ok(answer);
  },

  async sendMessage(request) {
    const id = param(conversationId, request, 'id');
    const body = validate(sendMessageBody, request.body ?? {});
    const origin = `server-api:${request.requestKey}`;
    const ack =
      body.senderId === SYSTEM_SENDER
        ? await sendSystemMessage({ ...body, conversationId: id, origin, now: request.now })
        : await sendMessage(
            {
              conversationId: id,
              caller: { userId: body.senderId, name: body.senderId, deviceId: undefined },
              // No connection sent it: every connection of every member gets the message.
              connectionId: origin,
              clientMessageId: body.clientMessageId,
              content: body.content,
              now: request.now,
            },
            sendHook,
          );
    return created({
      conversationId: ack.conversationId,
      messageId: ack.messageId,
      seq: ack.seq,
      version: messageVersion(ack.seq),
      createdAt: ack.createdAt,
      duplicate: ack.duplicate,
    });
  },

  async listMessages(request) {
    const id = param(conversationId, request, 'id');
    const afterSeq = wholeNumber(request, 'afterSeq', 0, Number.MAX_SAFE_INTEGER);
    const afterVersion = wholeNumber(request, 'afterVersion', 0, Number.MAX_SAFE_INTEGER);
    const limit = wholeNumber(request, 'limit', SYNC_LIMITS.min, SYNC_LIMITS.max) ?? SYNC_LIMITS.default;
    if (afterSeq !== undefined && afterVersion !== undefined) {
      throw new BadRequestError('give afterSeq or afterVersion, not both');
    }
    const page =
      afterVersion === undefined
        ? await syncMessages({ caller: BACKEND_READER, conversationId: id, afterSeq: afterSeq ?? 0, limit })
        : await syncChanges({ caller: BACKEND_READER, conversationId: id, afterVersion, limit });
    const { type: _type, ...answer } = page;
    return ok(answer);
  },

  async listReports(request) {
    const status = request.query.status ?? 'open';
    if (!(REPORT_STATUSES as readonly string[]).includes(status)) {
      throw new BadRequestError(`status: one of ${REPORT_STATUSES.join(', ')}`);
    }
    const limit = wholeNumber(request, 'limit', 1, MAX_REPORT_LIST) ?? 100;
    return ok(await listReports(status as (typeof REPORT_STATUSES)[number], limit));
  },

  async resolveReport(request) {
    const reportId = param(z.string(), request, 'id');
    const note = validate(resolveBody, request.body)?.note;
    const result = await resolveReport(reportId, request.by, { note, now: request.now });
    return ok(result);
  },

  async block(request) {
    return blockAs(request, true);
  },

  async unblock(request) {
    return blockAs(request, false);
  },

  async deactivate(request) {
    return ok(await deactivateUser(param(userId, request, 'id'), request.by, request.now));
  },

  async reactivate(request) {
    return ok(await reactivateUser(param(userId, request, 'id'), request.by, request.now));
  },

  async revoke(request) {
    return ok(await revokeSessions(param(userId, request, 'id'), request.by, request.now));
  },
};

/** On the user's behalf, as their own `block` frame would (integration.md): the same rules and limit. */
async function blockAs(request: ApiRequest, on: boolean): Promise<ApiAnswer> {
  const blocker = param(userId, request, 'id');
  const blocked = param(userId, request, 'otherId');
  await block({
    caller: { userId: blocker, name: blocker, deviceId: undefined },
    userId: blocked,
    on,
    now: request.now,
  });
  return ok({ userId: blocker, otherId: blocked, blocked: on });
}

/** Every operation that writes takes an Idempotency-Key; see definitions/server-api.ts. */
export const IDEMPOTENCY_HEADER = SERVER_API.idempotencyHeader.toLowerCase();
