/**
 * The mobile push platforms Parley supports, in one place: read by the handlers (the `registerDevice`
 * schema, which platform application a device registers with, the key of each push payload), by the
 * CDK stack (context validation, environment variables, IAM) and by the local stack (the platform
 * applications of its fake SNS). A platform is added here or nowhere.
 */
export interface PushPlatformDefinition {
  /**
   * SNS's name for the platform: in platform application ARNs (`…:app/{sns}/{name}`) and as the key
   * of the platform's payload in a `MessageStructure: 'json'` Publish.
   */
  readonly sns: string;
  /** The handlers' environment variable that carries the platform application's ARN. */
  readonly appArnEnv: string;
  /** The CDK context key that configures that ARN (docs/deploy.md "Configuration"). */
  readonly contextKey: string;
}

/** Keyed by the platform's name in protocol.md (`registerDevice`'s `platform`). */
export const PUSH_PLATFORMS = {
  apns: { sns: 'APNS', appArnEnv: 'PUSH_APP_ARN_APNS', contextKey: 'pushAppArnApns' },
  apns_sandbox: {
    sns: 'APNS_SANDBOX',
    appArnEnv: 'PUSH_APP_ARN_APNS_SANDBOX',
    contextKey: 'pushAppArnApnsSandbox',
  },
  // SNS still calls Firebase Cloud Messaging "GCM", in its ARNs and in its payload keys.
  fcm: { sns: 'GCM', appArnEnv: 'PUSH_APP_ARN_FCM', contextKey: 'pushAppArnFcm' },
} as const satisfies Record<string, PushPlatformDefinition>;

export type PushPlatform = keyof typeof PUSH_PLATFORMS;

export const PUSH_PLATFORM_NAMES = Object.keys(PUSH_PLATFORMS) as PushPlatform[];
