/**
 * What a reaction may be. protocol.md: one emoji of at most 32 bytes of UTF-8, at most 50 distinct
 * emoji per message. Parley also lets one user put at most 10 emoji on one message: without it, a
 * group of 100 could hang 5,000 user ids on a message, and its `messageUpdated` frame (every reaction
 * with its users) would outgrow API Gateway's 128 KiB; with it, the worst case stays near 70 KB.
 */
import { BadRequestError, TooLargeError } from './errors.ts';

export const MAX_EMOJI_PER_MESSAGE = 50;
export const MAX_REACTIONS_PER_USER = 10;
const MAX_EMOJI_BYTES = 32;

/** Built on first use: loading ICU's segmentation data is cold-start time edit and delete never need. */
let graphemes: Intl.Segmenter | undefined;
/** A pictograph, a flag's regional indicators, or a keycap (`1️⃣`): digits and `#` alone are not emoji. */
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

/** The emoji as sent, when it is one emoji; refused otherwise (nothing is stored). */
export function requireEmoji(emoji: string): string {
  if (Buffer.byteLength(emoji, 'utf8') > MAX_EMOJI_BYTES) {
    throw new TooLargeError(`emoji: more than ${MAX_EMOJI_BYTES} bytes of UTF-8`);
  }
  graphemes ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  const clusters = [...graphemes.segment(emoji)];
  if (clusters.length !== 1 || !EMOJI.test(emoji))
    throw new BadRequestError('emoji: must be exactly one emoji');
  return emoji;
}
