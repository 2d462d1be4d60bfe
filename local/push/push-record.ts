/**
 * What the push recorder keeps for one notification SNS would have sent: the fields of protocol.md's
 * `GET /_local/pushes`, read from the platform payload exactly as SNS hands it to APNs or FCM.
 */
import { QueryError } from './query-protocol.ts';

export type PushPlatform = 'apns' | 'apns_sandbox' | 'fcm';

export interface PushRecord {
  userId: string | null;
  deviceId: string | null;
  platform: PushPlatform;
  token: string;
  title: string | null;
  body: string | null;
  data: { conversationId?: string; messageId?: string; seq?: number };
  badge: number | null;
  sentAt: string;
}

/** SNS platform names in application ARNs (`…:app/APNS/name`) and message keys. */
export const SNS_PLATFORMS = { APNS: 'apns', APNS_SANDBOX: 'apns_sandbox', GCM: 'fcm' } as const;
export type SnsPlatform = keyof typeof SNS_PLATFORMS;

export interface PushContent {
  title: string | null;
  body: string | null;
  data: PushRecord['data'];
  badge: number | null;
}

/**
 * SNS's choice of payload for one endpoint: with `MessageStructure: json` the platform's key if present,
 * otherwise `default` as plain alert text.
 */
export function pushContent(
  platform: SnsPlatform,
  message: string,
  structure: string | undefined,
): PushContent {
  if (structure !== 'json') return plain(message);
  const envelope = parseJson(message, 'Message Structure - JSON message body failed to parse');
  if (typeof envelope.default !== 'string') {
    throw new QueryError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - No default entry in JSON message body',
    );
  }
  const payload = envelope[platform];
  if (typeof payload !== 'string') return plain(envelope.default);
  const parsed = parseJson(payload, `Invalid parameter: Message - ${platform} payload is not JSON`);
  return platform === 'GCM' ? fcmContent(parsed) : apnsContent(parsed);
}

function apnsContent(payload: Record<string, unknown>): PushContent {
  const aps = record(payload.aps);
  const alert = aps.alert;
  const alertRecord = record(alert);
  return {
    title: text(alertRecord.title),
    body: typeof alert === 'string' ? alert : text(alertRecord.body),
    data: data(payload),
    badge: typeof aps.badge === 'number' ? aps.badge : null,
  };
}

function fcmContent(payload: Record<string, unknown>): PushContent {
  // FCM HTTP v1 (`fcmV1Message`), or the legacy shape SNS also accepts.
  const message = 'fcmV1Message' in payload ? record(record(payload.fcmV1Message).message) : payload;
  const notification = record(message.notification);
  const count = record(record(message.android).notification).notification_count;
  return {
    title: text(notification.title),
    body: text(notification.body),
    data: data(record(message.data)),
    badge: typeof count === 'number' ? count : null,
  };
}

function data(source: Record<string, unknown>): PushRecord['data'] {
  const result: PushRecord['data'] = {};
  if (typeof source.conversationId === 'string') result.conversationId = source.conversationId;
  if (typeof source.messageId === 'string') result.messageId = source.messageId;
  // FCM data values are strings; the recorder reports seq as the number it stands for.
  if (source.seq !== undefined && Number.isFinite(Number(source.seq))) result.seq = Number(source.seq);
  return result;
}

function plain(body: string): PushContent {
  return { title: null, body, data: {}, badge: null };
}

function parseJson(textValue: string, failure: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(textValue);
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new QueryError('InvalidParameter', failure);
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
