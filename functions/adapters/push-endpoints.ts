/**
 * SNS platform endpoints: one per (platform application, device token). Their ARNs are what the
 * delivery Lambda publishes pushes to.
 */
import {
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  InvalidParameterException,
  SetEndpointAttributesCommand,
} from '@aws-sdk/client-sns';
import { PUSH_PLATFORM_NAMES, PUSH_PLATFORMS } from '../../definitions/push-platforms.ts';
import { BadRequestError } from '../domain/errors.ts';
import type { Platform } from '../domain/model.ts';
import { sns } from '../shared/clients/sns.ts';
import { optionalEnv } from '../shared/env.ts';

/**
 * Each platform's application ARN, read at cold start. A platform whose application is not configured
 * cannot register devices (docs/deploy.md "Configuration").
 */
const PLATFORM_APPLICATIONS = Object.fromEntries(
  PUSH_PLATFORM_NAMES.map((platform) => [platform, optionalEnv(PUSH_PLATFORMS[platform].appArnEnv)]),
) as Readonly<Record<Platform, string | undefined>>;

export function platformApplicationArn(platform: Platform): string | undefined {
  return PLATFORM_APPLICATIONS[platform];
}

/** SNS names the endpoint that already holds the token in its error message; nowhere else. */
const EXISTING_ENDPOINT = /Endpoint (arn:[^ ]+) already exists with the same [Tt]oken/;

/**
 * The endpoint for `token`, enabled and labelled with `customUserData`. CreatePlatformEndpoint returns
 * the existing endpoint when token and attributes match; when they differ (another owner's label, or
 * disabled after a delivery failure) SNS refuses and names that endpoint, which is then relabelled and
 * re-enabled: a token re-registered by the app is valid again.
 */
export async function ensurePlatformEndpoint(
  applicationArn: string,
  token: string,
  customUserData: string,
): Promise<string> {
  try {
    const { EndpointArn } = await sns.send(
      new CreatePlatformEndpointCommand({
        PlatformApplicationArn: applicationArn,
        Token: token,
        CustomUserData: customUserData,
        Attributes: { Enabled: 'true' },
      }),
    );
    if (EndpointArn === undefined) throw new Error('CreatePlatformEndpoint returned no EndpointArn');
    return EndpointArn;
  } catch (error) {
    if (!(error instanceof InvalidParameterException)) throw error;
    const existing = EXISTING_ENDPOINT.exec(error.message)?.[1];
    // Any other invalid parameter is the token itself (wrong length or charset for the platform).
    if (existing === undefined) throw new BadRequestError('token: refused by the push platform');
    await sns.send(
      new SetEndpointAttributesCommand({
        EndpointArn: existing,
        Attributes: { CustomUserData: customUserData, Enabled: 'true' },
      }),
    );
    return existing;
  }
}

/** Idempotent in SNS: deleting an endpoint that is already gone succeeds. */
export async function deletePlatformEndpoint(endpointArn: string): Promise<void> {
  await sns.send(new DeleteEndpointCommand({ EndpointArn: endpointArn }));
}
