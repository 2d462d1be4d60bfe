/**
 * `requestUpload`: a presigned PUT for one file the caller will attach to a message.
 *
 * Why a presigned PUT and not a presigned POST (a browser form upload with a policy): protocol.md fixes
 * `method: "PUT"` and `headers`, which native apps send as easily as browsers, and a PUT URL signs
 * `Content-Type` and `Content-Length` as headers, so S3 refuses an upload of another type or size with
 * 403 (a POST policy would express the same with `content-length-range` and a `Content-Type` condition,
 * but needs multipart form bodies). Either way the server checks the stored object again when it is
 * attached (functions/domain/attachments.ts), which is the only check the local stack's s3rver leaves.
 */
import { nextUtcMidnight, putUpload } from '../adapters/upload-store.ts';
import { presignUpload } from '../shared/clients/s3.ts';
import { UPLOAD_BYTES_PER_DAY } from '../shared/config.ts';
import { MAX_ATTACHMENT_BYTES } from './attachment-rules.ts';
import { UPLOAD_URL_SECONDS, uploadKey } from './attachments.ts';
import { BadRequestError, RateLimitedError, TooLargeError } from './errors.ts';
import type { UploadFrame } from './frames.ts';
import { uploadIdFor } from './identifiers.ts';
import type { Caller } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface RequestUploadInput {
  caller: Caller;
  clientRequestId: string;
  contentType: string;
  size: number;
  now: Date;
}

export async function requestUpload(input: RequestUploadInput): Promise<UploadFrame> {
  const { caller, clientRequestId, contentType, size, now } = input;
  if (size > MAX_ATTACHMENT_BYTES) {
    throw new TooLargeError(`size: more than ${MAX_ATTACHMENT_BYTES} bytes (25 MiB)`);
  }
  await requireWithinRate(caller.userId, 'requestUpload', now);
  // The same (user, clientRequestId) always names the same upload: a retry gets a fresh URL for it,
  // until a message has it.
  const uploadId = uploadIdFor(caller.userId, clientRequestId);
  const key = uploadKey(caller.userId, uploadId);
  // The upload and its bytes in the caller's daily quota, together: a retry is counted once.
  const stored = await putUpload(
    { uploadId, ownerId: caller.userId, key, contentType, size, requestedAt: now.toISOString() },
    now,
    UPLOAD_BYTES_PER_DAY,
  );
  if (stored === 'overQuota') {
    const retryAfterMs = nextUtcMidnight(now) - now.getTime();
    throw new RateLimitedError(
      `size: over the daily upload quota (${UPLOAD_BYTES_PER_DAY} bytes a UTC day); retry after ${retryAfterMs} ms`,
      retryAfterMs,
    );
  }
  // An upload belongs to one message (protocol.md 1.2): once attached it is never reopened.
  if (stored === 'attached') {
    throw new BadRequestError(
      `clientRequestId: upload ${uploadId} is already attached to a message; ask with another clientRequestId`,
    );
  }
  const { url, headers } = await presignUpload(key, contentType, size, UPLOAD_URL_SECONDS, now);
  return {
    type: 'upload',
    clientRequestId,
    uploadId,
    url,
    method: 'PUT',
    headers,
    expiresAt: new Date(Math.floor(now.getTime() / 1000) * 1000 + UPLOAD_URL_SECONDS * 1000).toISOString(),
  };
}
