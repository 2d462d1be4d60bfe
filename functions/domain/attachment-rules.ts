/**
 * protocol.md 1.1's limits on uploads and attachments, without any AWS client: the frame schemas
 * (functions/shared/frame-schemas.ts, imported by every route) read them.
 */
export const ATTACHMENT_CONTENT_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'video/mp4',
  'audio/mp4',
  'application/pdf',
] as const;
export type AttachmentContentType = (typeof ATTACHMENT_CONTENT_TYPES)[number];

/** 25 MiB. */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
/** Uploads one message may carry. */
export const MAX_ATTACHMENTS = 10;

/** The push body of a message without text: what it carries, in a word. */
export function attachmentWord(attachments: readonly { contentType: string }[]): string {
  const type = attachments[0]?.contentType ?? '';
  if (type.startsWith('image/')) return 'Photo';
  if (type.startsWith('video/')) return 'Video';
  if (type.startsWith('audio/')) return 'Audio';
  if (type === 'application/pdf') return 'PDF';
  return 'File';
}
