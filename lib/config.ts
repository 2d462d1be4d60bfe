/**
 * Deployment configuration, read from CDK context (`cdk.json`, `cdk.context.json` or
 * `npx cdk deploy -c key=value`). Context rather than CloudFormation parameters because every value
 * shapes the template itself: which environment variables exist, which SNS ARNs the push IAM
 * statements are scoped to, whether a JWT secret is created. Each value is validated at synth time so
 * a typo fails `cdk synth`, not the first connection in production.
 */
import type { Node } from 'constructs';
import {
  CONTACT_POLICIES,
  CONTACT_POLICY_SETTING,
  type ContactPolicy,
  isContactPolicy,
} from '../definitions/contact-policy.ts';
import { EVENT_CONTENT_SETTING, parseEventContent } from '../definitions/events.ts';
import { FANOUT_SETTINGS, type FanoutSetting } from '../definitions/fanout.ts';
import { PUSH_PLATFORM_NAMES, PUSH_PLATFORMS, type PushPlatform } from '../definitions/push-platforms.ts';
import { RATE_LIMIT_SETTINGS, type RateLimitSetting, settingRange } from '../definitions/rate-limits.ts';
import { checkSendHookSettings, SEND_HOOK_CONTEXT, type SendHookSettings } from '../definitions/send-hook.ts';

export interface PushApplication {
  readonly platform: PushPlatform;
  /** `arn:aws:sns:{region}:{account}:app/{SNS platform}/{name}` (definitions/push-platforms.ts) */
  readonly applicationArn: string;
  /** The handler's environment variable that carries the ARN. */
  readonly envName: string;
}

export type JwtConfig =
  /** HS256 with a secret in Secrets Manager: an existing one (`secretId`), or one the stack generates. */
  | {
      readonly kind: 'secret';
      readonly secretId?: string;
      readonly issuer?: string;
      readonly audience?: string;
    }
  /** RS256/ES256 against an identity provider's JWKS (Cognito, Auth0, ...). */
  | { readonly kind: 'jwks'; readonly jwksUrl: string; readonly issuer: string; readonly audience: string };

export interface ParleyConfig {
  readonly stageName: string;
  readonly jwt: JwtConfig;
  /** Only the platforms that were configured; the others are left out of environment and IAM. */
  readonly push: readonly PushApplication[];
  readonly logRetentionDays: number;
  readonly logLevel?: string;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
  /** Set API Gateway's account-wide CloudWatch role (needed once per account and region for WebSocket logs). */
  readonly manageApiGatewayAccountRole: boolean;
  /** Per-user caps and parallelism of delivery fan-out (definitions/fanout.ts has the defaults). */
  readonly fanout: Readonly<Record<FanoutSetting, number>>;
  /**
   * Per-user rate limits on every action that writes, and the daily upload quota
   * (definitions/rate-limits.ts has the defaults).
   */
  readonly rateLimits: Readonly<Record<RateLimitSetting, number>>;
  /**
   * (1.2) The send hook (integration.md) from context `sendHookArn`, `sendHookTimeoutMs`,
   * `sendHookOnFailure`; the stack's `sendHook` prop may give it instead. Absent: no hook.
   */
  readonly sendHook?: SendHookSettings;
  /**
   * (1.2) Who may start a conversation with whom, from context `contactPolicy`; the stack's
   * `contactPolicy` prop may give it instead. Absent: neither gave it (`open`).
   */
  readonly contactPolicy?: ContactPolicy;
  /**
   * Whether the events on the stack's bus carry message content (definitions/events.ts), from context
   * `eventContent` ("true" or "false"); off by default.
   */
  readonly eventContent: boolean;
}

/** The context keys this module reads; the push platforms' are in definitions/push-platforms.ts. */
const CONTEXT_KEYS = {
  stageName: 'stageName',
  jwtSecretId: 'jwtSecretId',
  jwksUrl: 'jwksUrl',
  jwtIssuer: 'jwtIssuer',
  jwtAudience: 'jwtAudience',
  logRetentionDays: 'logRetentionDays',
  logLevel: 'logLevel',
  alarmEmail: 'alarmEmail',
  apiGatewayAccountRole: 'apiGatewayAccountRole',
} as const;

/** Every push environment variable name, set or not, so tests can assert none leaks to other functions. */
export const PUSH_ENV_NAMES: readonly string[] = PUSH_PLATFORM_NAMES.map(
  (platform) => PUSH_PLATFORMS[platform].appArnEnv,
);

/** The SNS platform name is captured, to be checked against the platform the key configures. */
const PLATFORM_APP_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:app\/([A-Z_]+)\/[A-Za-z0-9_.-]{1,256}$/;
const STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];
/** The retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function readConfig(node: Node): ParleyConfig {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(`Context "${key}" must be a string, got ${JSON.stringify(value)}`);
    }
    return String(value).trim();
  };

  const stageName = text(CONTEXT_KEYS.stageName) ?? 'prod';
  if (!STAGE_NAME.test(stageName)) throw new ConfigError(`Context "stageName" must match ${STAGE_NAME}`);

  const logRetentionDays = Number(text(CONTEXT_KEYS.logRetentionDays) ?? 30);
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    throw new ConfigError(`Context "logRetentionDays" must be one of ${RETENTION_DAYS.join(', ')}`);
  }

  const logLevel = text(CONTEXT_KEYS.logLevel)?.toLowerCase();
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`Context "logLevel" must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const alarmEmail = text(CONTEXT_KEYS.alarmEmail);
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw new ConfigError('Context "alarmEmail" must be an e-mail address');
  }

  return {
    stageName,
    jwt: readJwt(text),
    push: readPush(text),
    logRetentionDays,
    ...(logLevel === undefined ? {} : { logLevel }),
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    manageApiGatewayAccountRole: text(CONTEXT_KEYS.apiGatewayAccountRole) !== 'false',
    fanout: readFanout(text),
    rateLimits: readRateLimits(text),
    ...readSendHook(text),
    ...readContactPolicy(text),
    eventContent: readEventContent(text),
  };
}

/** Context `eventContent`: "true" or "false", off when not given. */
function readEventContent(text: (key: string) => string | undefined): boolean {
  const raw = text(EVENT_CONTENT_SETTING.context);
  if (raw === undefined) return EVENT_CONTENT_SETTING.default;
  const value = parseEventContent(raw);
  if (value === undefined) {
    throw new ConfigError(
      `Context "${EVENT_CONTENT_SETTING.context}" must be "true" or "false", got "${raw}"`,
    );
  }
  return value;
}

/** The send hook as the CDK stack's `sendHook` prop gives it (lib/parley-stack.ts). */
export interface SendHookProps {
  /** The Lambda function (or a version or alias of it) to invoke; another construct's ARN works too. */
  readonly functionArn: string;
  /** @default 1000: longer than this and the hook has failed (100 to 5000). */
  readonly timeoutMs?: number;
  /** What a failed hook means: `refuse` answers `internal`, `allow` stores the message unchanged. @default 'refuse' */
  readonly onFailure?: 'refuse' | 'allow';
}

/** The prop, checked with the same rules as context; a token ARN is left to CloudFormation. */
export function sendHookFromProps(props: SendHookProps, arnIsToken: boolean): SendHookSettings {
  return checkSendHookSettings(
    props,
    { functionArn: 'sendHook.functionArn', timeoutMs: 'sendHook.timeoutMs', onFailure: 'sendHook.onFailure' },
    (message) => new ConfigError(message),
    { arnIsToken },
  );
}

/** Context `contactPolicy`, when given: one of definitions/contact-policy.ts's. */
function readContactPolicy(text: (key: string) => string | undefined): { contactPolicy?: ContactPolicy } {
  const value = text(CONTACT_POLICY_SETTING.context);
  if (value === undefined) return {};
  if (!isContactPolicy(value)) {
    throw new ConfigError(
      `Context "${CONTACT_POLICY_SETTING.context}" must be ${CONTACT_POLICIES.join(' or ')}, got "${value}"`,
    );
  }
  return { contactPolicy: value };
}

/** Context `sendHookArn` (and its `sendHookTimeoutMs`, `sendHookOnFailure`), or no hook. */
function readSendHook(text: (key: string) => string | undefined): { sendHook?: SendHookSettings } {
  const functionArn = text(SEND_HOOK_CONTEXT.functionArn);
  const timeoutMs = text(SEND_HOOK_CONTEXT.timeoutMs);
  const onFailure = text(SEND_HOOK_CONTEXT.onFailure);
  if (functionArn === undefined) {
    // Settings of a hook that is not there: a typo'd or forgotten ARN, not something to ignore.
    if (timeoutMs !== undefined || onFailure !== undefined) {
      throw new ConfigError(
        `Context "${SEND_HOOK_CONTEXT.timeoutMs}" and "${SEND_HOOK_CONTEXT.onFailure}" need "${SEND_HOOK_CONTEXT.functionArn}"`,
      );
    }
    return {};
  }
  const names = {
    functionArn: `Context "${SEND_HOOK_CONTEXT.functionArn}"`,
    timeoutMs: `Context "${SEND_HOOK_CONTEXT.timeoutMs}"`,
    onFailure: `Context "${SEND_HOOK_CONTEXT.onFailure}"`,
  };
  const given = {
    functionArn,
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(onFailure !== undefined && { onFailure }),
  };
  return { sendHook: checkSendHookSettings(given, names, (message) => new ConfigError(message)) };
}

function readJwt(text: (key: string) => string | undefined): JwtConfig {
  const secretId = text(CONTEXT_KEYS.jwtSecretId);
  const jwksUrl = text(CONTEXT_KEYS.jwksUrl);
  const issuer = text(CONTEXT_KEYS.jwtIssuer);
  const audience = text(CONTEXT_KEYS.jwtAudience);
  if (jwksUrl === undefined) {
    return {
      kind: 'secret',
      ...(secretId && { secretId }),
      ...(issuer && { issuer }),
      ...(audience && { audience }),
    };
  }
  if (secretId !== undefined) {
    throw new ConfigError('Give either "jwtSecretId" (HS256) or "jwksUrl" (RS256/ES256), not both');
  }
  if (!/^https:\/\/[^\s/]+/.test(jwksUrl)) throw new ConfigError('Context "jwksUrl" must be an https:// URL');
  // A JWKS-verified token without issuer and audience checks would accept any token that provider
  // signs for any application.
  if (issuer === undefined || audience === undefined) {
    throw new ConfigError('With "jwksUrl", "jwtIssuer" and "jwtAudience" are required');
  }
  return { kind: 'jwks', jwksUrl, issuer, audience };
}

function readPush(text: (key: string) => string | undefined): PushApplication[] {
  const apps: PushApplication[] = [];
  for (const platform of PUSH_PLATFORM_NAMES) {
    const { sns, appArnEnv, contextKey } = PUSH_PLATFORMS[platform];
    const arn = text(contextKey);
    if (arn === undefined) continue;
    const match = PLATFORM_APP_ARN.exec(arn);
    if (!match || match[1] !== sns) {
      throw new ConfigError(
        `Context "${contextKey}" must be an SNS platform application ARN of platform ${sns} ` +
          `(arn:aws:sns:{region}:{account}:app/${sns}/{name}), got "${arn}"`,
      );
    }
    apps.push({ platform, applicationArn: arn, envName: appArnEnv });
  }
  return apps;
}

/** Endpoints SNS creates under an application: `...:app/APNS/name` → `...:endpoint/APNS/name/*`. */
export function endpointArnPattern(applicationArn: string): string {
  return `${applicationArn.replace(':app/', ':endpoint/')}/*`;
}

/** Context `maxConnectionsPerUser`, `maxDevicesPerUser`, `fanoutParallelism`: whole numbers from 1 to 1000. */
const readFanout = (text: (key: string) => string | undefined): Record<FanoutSetting, number> =>
  readWholeNumbers(FANOUT_SETTINGS, text);

/**
 * Context `sendRatePerSecond`, `sendBurst`, ..., `uploadMiBPerDay` (definitions/rate-limits.ts): whole
 * numbers, each in its own range (1 to 1000 unless the setting says otherwise).
 */
const readRateLimits = (text: (key: string) => string | undefined): Record<RateLimitSetting, number> =>
  readWholeNumbers(RATE_LIMIT_SETTINGS, text);

/** Each setting from its context key, or its default: a whole number from 1 to 1000, or in the setting's range. */
function readWholeNumbers<S extends string>(
  settings: Record<
    S,
    { readonly context: string; readonly default: number; readonly min?: number; readonly max?: number }
  >,
  text: (key: string) => string | undefined,
): Record<S, number> {
  const values = {} as Record<S, number>;
  for (const setting of Object.keys(settings) as S[]) {
    const { context, default: fallback } = settings[setting];
    const { min, max } = settingRange(settings[setting]);
    const raw = text(context);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(
        `Context "${context}" must be a whole number from ${min} to ${max}, got "${raw}"`,
      );
    }
    values[setting] = value;
  }
  return values;
}
