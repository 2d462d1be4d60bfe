import { sendTyping } from '../domain/typing.ts';
import { typingFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

/** Answers nothing on success (protocol.md); errors still come back as `error` frames. */
export const handler = defineRoute('typing', typingFrame, async ({ frame, caller, receivedAt }) => {
  await sendTyping({ ...frame, caller, now: receivedAt });
  return undefined;
});
