/**
 * Per-user limits on every action that writes (protocol.md 1.2, "Limits on every write": refused with
 * `rate_limited` and `retryAfterMs`), and the daily upload quota: configurable per deployment (CDK
 * context, lib/config.ts; `npm start` flags, local/start.ts) and read by the handlers from these
 * environment variables (functions/shared/config.ts). Each limit is a rate with a burst: a user who has
 * been quiet may make `burst` requests at once, then `rate` a second or a minute, counted over all of
 * that user's connections together. Defaults are for a person on a phone, with room to spare; a script
 * hits them within seconds. docs/protocol.md "Rate limits" explains each default.
 *
 * A whole number each, from `min` (1 unless given) to `max` (1000 unless given).
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
  /**
   * markRead: a reader opening conversation after conversation, or following a busy group, reads
   * several a second for a moment; each read is posted to every member's connections.
   */
  readPerMinute: {
    env: 'READ_RATE_PER_MINUTE',
    context: 'readRatePerMinute',
    flag: 'read-rate',
    default: 120,
    max: 60_000,
  },
  readBurst: { env: 'READ_BURST', context: 'readBurst', flag: 'read-burst', default: 30 },
  /**
   * editMessage, deleteMessage, react: a person reacts down a thread or deletes a selection of
   * messages in a burst, then at most about one a second; each is a versioned transaction and a
   * `messageUpdated` to every member.
   */
  changePerMinute: {
    env: 'CHANGE_RATE_PER_MINUTE',
    context: 'changeRatePerMinute',
    flag: 'change-rate',
    default: 60,
    max: 60_000,
  },
  changeBurst: { env: 'CHANGE_BURST', context: 'changeBurst', flag: 'change-burst', default: 20 },
  /** createConversation: rare for a person; each group writes up to 102 items and reaches 100 users. */
  conversationPerMinute: {
    env: 'CONVERSATION_RATE_PER_MINUTE',
    context: 'conversationRatePerMinute',
    flag: 'conversation-rate',
    default: 3,
    max: 60_000,
  },
  conversationBurst: {
    env: 'CONVERSATION_BURST',
    context: 'conversationBurst',
    flag: 'conversation-burst',
    default: 5,
  },
  /**
   * leaveConversation, block, acceptRequest, setNotifications (how the user stands in a conversation
   * or toward a person): a person tidying their list does a handful in a row, then few; each reaches
   * every device of theirs (`left`, list changes), and a block is read by every later delivery.
   */
  membershipPerMinute: {
    env: 'MEMBERSHIP_RATE_PER_MINUTE',
    context: 'membershipRatePerMinute',
    flag: 'membership-rate',
    default: 20,
    max: 60_000,
  },
  membershipBurst: {
    env: 'MEMBERSHIP_BURST',
    context: 'membershipBurst',
    flag: 'membership-burst',
    default: 20,
  },
  /**
   * report: a person reports a few messages of one conversation in a row; a flood of reports costs
   * the operator's moderators, and each copies the reported messages.
   */
  reportPerMinute: {
    env: 'REPORT_RATE_PER_MINUTE',
    context: 'reportRatePerMinute',
    flag: 'report-rate',
    default: 2,
    max: 60_000,
  },
  reportBurst: { env: 'REPORT_BURST', context: 'reportBurst', flag: 'report-burst', default: 10 },
  /** requestUpload: a message carries up to 10 files, so two full messages at once, then one every 2 s. */
  uploadPerMinute: {
    env: 'UPLOAD_RATE_PER_MINUTE',
    context: 'uploadRatePerMinute',
    flag: 'upload-rate',
    default: 30,
    max: 60_000,
  },
  uploadBurst: { env: 'UPLOAD_BURST', context: 'uploadBurst', flag: 'upload-burst', default: 20 },
  /**
   * registerDevice, unregisterDevice: an app registers once per start or token change; each may call
   * SNS (CreatePlatformEndpoint, DeleteEndpoint) besides the table.
   */
  devicePerMinute: {
    env: 'DEVICE_RATE_PER_MINUTE',
    context: 'deviceRatePerMinute',
    flag: 'device-rate',
    default: 10,
    max: 60_000,
  },
  deviceBurst: { env: 'DEVICE_BURST', context: 'deviceBurst', flag: 'device-burst', default: 10 },
  /**
   * Bytes of uploads a user may request per UTC day, in MiB (functions/adapters/upload-store.ts):
   * 1 GiB is about 300 phone photos or 40 files of the 25 MiB maximum, more than a person sends in a
   * day, and bounds what one account can make the operator store to 1 GiB a day. At least 25 MiB, so
   * that any one upload fits in a fresh day.
   */
  uploadMiBPerDay: {
    env: 'UPLOAD_MIB_PER_DAY',
    context: 'uploadMiBPerDay',
    flag: 'upload-mib-per-day',
    default: 1024,
    min: 25,
    max: 1_048_576,
  },
} as const satisfies Record<string, WholeNumberSetting>;

export type RateLimitSetting = keyof typeof RATE_LIMIT_SETTINGS;

/** A setting's names and range: env var, CDK context key, `npm start` flag (without `--`), default. */
export interface WholeNumberSetting {
  readonly env: string;
  readonly context: string;
  readonly flag: string;
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}

/** Its range: from `min` to `max`, 1 to 1000 unless the setting says otherwise. */
export const settingRange = (setting: {
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}): { min: number; max: number } => ({ min: setting.min ?? 1, max: setting.max ?? 1000 });

/** The two settings of one limit, and whether its rate counts a second or a minute. */
export interface RateLimitSettings {
  readonly rate: RateLimitSetting;
  readonly per: 'second' | 'minute';
  readonly burst: RateLimitSetting;
}

const SEND = { rate: 'sendPerSecond', per: 'second', burst: 'sendBurst' } as const;
const TYPING = { rate: 'typingPerSecond', per: 'second', burst: 'typingBurst' } as const;
const READS = { rate: 'readPerMinute', per: 'minute', burst: 'readBurst' } as const;
const CHANGES = { rate: 'changePerMinute', per: 'minute', burst: 'changeBurst' } as const;
const CONVERSATIONS = { rate: 'conversationPerMinute', per: 'minute', burst: 'conversationBurst' } as const;
const MEMBERSHIP = { rate: 'membershipPerMinute', per: 'minute', burst: 'membershipBurst' } as const;
const REPORTS = { rate: 'reportPerMinute', per: 'minute', burst: 'reportBurst' } as const;
const UPLOADS = { rate: 'uploadPerMinute', per: 'minute', burst: 'uploadBurst' } as const;
const DEVICES = { rate: 'devicePerMinute', per: 'minute', burst: 'deviceBurst' } as const;

/**
 * Every limited action and the limit it counts against. Actions that share a limit each have their own
 * bucket (a user who reacts a lot can still edit). Limiting a new action is one line here and
 * `await requireWithinRate(userId, '<action>', now)` in its domain function
 * (functions/domain/rate-limits.ts); the CDK stack then gives the limits to the route's function.
 */
export const RATE_LIMITED_ACTIONS = {
  sendMessage: SEND,
  typing: TYPING,
  markRead: READS,
  editMessage: CHANGES,
  deleteMessage: CHANGES,
  react: CHANGES,
  createConversation: CONVERSATIONS,
  leaveConversation: MEMBERSHIP,
  block: MEMBERSHIP,
  acceptRequest: MEMBERSHIP,
  setNotifications: MEMBERSHIP,
  report: REPORTS,
  requestUpload: UPLOADS,
  registerDevice: DEVICES,
  unregisterDevice: DEVICES,
} as const satisfies Record<string, RateLimitSettings>;

export type LimitedAction = keyof typeof RATE_LIMITED_ACTIONS;
