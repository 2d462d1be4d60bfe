import { sendHook } from '../adapters/send-hook.ts';
import { editMessage } from '../domain/message-changes.ts';
import { editMessageFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('editMessage', editMessageFrame, ({ frame, caller }) =>
  editMessage({ ...frame, caller, now: new Date() }, sendHook),
);
