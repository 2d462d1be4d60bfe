import { sendHook } from '../adapters/send-hook.ts';
import { attachUploads } from '../domain/attachments.ts';
import { sendMessage } from '../domain/send-message.ts';
import { sendMessageFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('sendMessage', sendMessageFrame, ({ frame, caller, connectionId }) =>
  sendMessage({ ...frame, caller, connectionId, now: new Date() }, sendHook, attachUploads),
);
