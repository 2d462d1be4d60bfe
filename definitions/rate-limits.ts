/**
 * Per-user rate limits (protocol.md: `rate_limited`), configurable per deployment (CDK context, see
 * lib/config.ts; `npm start` flags) and read by the handlers from these environment variables. Each
 * limit is a rate with a burst: a user who has been quiet may send `burst` frames at once, then
 * `perSecond` a second, counted over all of that user's connections together.
 */
export const RATE_LIMIT_SETTINGS = {
  /** protocol.md: more than 10 `sendMessage` a second, sustained, is refused. */
  sendPerSecond: {
    env: 'SEND_RATE_PER_SECOND',
    context: 'sendRatePerSecond',
    flag: 'send-rate',
    default: 10,
  },
  /** Sends allowed at once after a quiet spell: one second's worth. */
  sendBurst: { env: 'SEND_BURST', context: 'sendBurst', flag: 'send-burst', default: 10 },
  /** A typing client repeats `start` every few seconds; 2 a second is already a flood. */
  typingPerSecond: {
    env: 'TYPING_RATE_PER_SECOND',
    context: 'typingRatePerSecond',
    flag: 'typing-rate',
    default: 2,
  },
  typingBurst: { env: 'TYPING_BURST', context: 'typingBurst', flag: 'typing-burst', default: 6 },
} as const;

export type RateLimitSetting = keyof typeof RATE_LIMIT_SETTINGS;
