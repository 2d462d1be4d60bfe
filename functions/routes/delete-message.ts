import { deleteMessage } from '../domain/message-changes.ts';
import { deleteAttachment } from '../shared/clients/s3.ts';
import { deleteMessageFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('deleteMessage', deleteMessageFrame, ({ frame, caller }) =>
  deleteMessage({ ...frame, caller, now: new Date() }, deleteAttachment),
);
