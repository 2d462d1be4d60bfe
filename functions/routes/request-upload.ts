import { requestUpload } from '../domain/request-upload.ts';
import { requestUploadFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('requestUpload', requestUploadFrame, ({ frame, caller }) =>
  requestUpload({ ...frame, caller, now: new Date() }),
);
