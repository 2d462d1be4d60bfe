/**
 * The identifiers' schemas every request shares (protocol.md "Identifiers", functions/domain/identifiers.ts),
 * apart from the frames: the server API (functions/server-api/) checks its bodies with them without
 * loading every frame schema of the WebSocket routes (frame-schemas.ts).
 */
import * as z from 'zod/mini';
import {
  CLIENT_MESSAGE_ID_CHARS,
  isReservedUserId,
  MAX_CLIENT_MESSAGE_ID_LENGTH,
  MAX_CONVERSATION_ID_LENGTH,
  MAX_ID_LENGTH,
  USER_ID_CHARS,
} from '../domain/identifiers.ts';

export const userId = z.string().check(
  z.minLength(1),
  z.maxLength(MAX_ID_LENGTH),
  z.regex(USER_ID_CHARS),
  z.refine((id) => !isReservedUserId(id), { message: 'names no user: the id is reserved' }),
);
export const conversationId = z.string().check(z.minLength(1), z.maxLength(MAX_CONVERSATION_ID_LENGTH));
export const clientMessageId = z
  .string()
  .check(z.minLength(1), z.maxLength(MAX_CLIENT_MESSAGE_ID_LENGTH), z.regex(CLIENT_MESSAGE_ID_CHARS));

/** `sync`'s page sizes (protocol.md), the server API's history too. */
export const SYNC_LIMITS = { min: 1, max: 100, default: 50 } as const;
