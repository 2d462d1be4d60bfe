import { BadRequestError, TooLargeError } from './errors.ts';

const MAX_CONTENT_CHARACTERS = 4000;

/** Characters as people count them: code points, so an emoji is one character, not two. */
function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * protocol.md: content is trimmed, then must have 1–4000 characters; it is stored exactly as that.
 * `allowEmpty`: a message with attachments may have no text.
 */
export function normalizeContent(raw: string, options: { allowEmpty?: boolean } = {}): string {
  const content = raw.trim();
  if (content === '' && options.allowEmpty !== true) throw new BadRequestError('content: must not be empty');
  if (characterCount(content) > MAX_CONTENT_CHARACTERS) {
    throw new TooLargeError(`content: more than ${MAX_CONTENT_CHARACTERS} characters`);
  }
  return content;
}
