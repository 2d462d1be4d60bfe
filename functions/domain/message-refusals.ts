/** How a refused edit, deletion or reaction reaches the member who asked (protocol.md, Errors). */
import type { Refusal } from '../adapters/message-changes.ts';
import { ForbiddenError, NotFoundError, type ParleyError, TooLargeError } from './errors.ts';
import { MAX_EMOJI_PER_MESSAGE, MAX_REACTIONS_PER_USER } from './reaction-rules.ts';

export function refusalError(refusal: Refusal, seq: number): ParleyError {
  switch (refusal) {
    case 'missing':
      return new NotFoundError(`no message with seq ${seq} in this conversation`);
    case 'not-sender':
      return new ForbiddenError('only its sender can change a message');
    case 'deleted':
      return new NotFoundError(`the message with seq ${seq} was deleted`);
    case 'too-many-emoji':
      return new TooLargeError(`a message has at most ${MAX_EMOJI_PER_MESSAGE} different emoji`);
    case 'too-many-reactions':
      return new TooLargeError(`one user reacts to a message with at most ${MAX_REACTIONS_PER_USER} emoji`);
  }
}
