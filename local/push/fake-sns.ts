/**
 * The SNS mobile push API as far as Parley uses it (platform endpoints and Publish), kept in memory.
 * Instead of reaching APNs or FCM, Publish records the notification for `GET /_local/pushes`. A token
 * can be marked as rejected by the platform, which disables its endpoints as SNS does on APNs/FCM
 * feedback, so the next Publish answers `EndpointDisabled`.
 *
 * With fault injection (local/faults/), a Publish may fail before anything is recorded: `InternalError`
 * (500, which the SDK retries), or `EndpointDisabled` for a push to an endpoint, which is then disabled
 * as if the platform had just rejected its token, so later calls agree with that answer.
 */
import { randomUUID } from 'node:crypto';
import type { FaultPlan } from '../faults/fault-plan.ts';
import { localLog } from '../log.ts';
import { type PushRecord, pushContent, SNS_PLATFORMS, type SnsPlatform } from './push-record.ts';
import {
  attributeMap,
  attributesXml,
  escapeXml,
  parseQueryBody,
  QueryError,
  queryErrorResponse,
  queryResponse,
} from './query-protocol.ts';

interface PlatformEndpoint {
  readonly arn: string;
  readonly applicationArn: string;
  readonly platform: SnsPlatform;
  attributes: Record<string, string>;
}

export interface QueryReply {
  readonly statusCode: number;
  readonly body: string;
}

const APPLICATION_ARN = /^arn:aws:sns:([^:]+):(\d+):app\/(APNS|APNS_SANDBOX|GCM)\/([^/]+)$/;

export class FakeSns {
  readonly #endpoints = new Map<string, PlatformEndpoint>();
  readonly #pushes: PushRecord[] = [];
  readonly #topics = new Map<string, (message: string) => void>();
  readonly #faults: FaultPlan | undefined;

  constructor(faults?: FaultPlan) {
    this.#faults = faults;
  }

  /** A topic whose published messages go to `deliver` (an SQS subscription with raw message delivery). */
  subscribeTopic(topicArn: string, deliver: (message: string) => void): void {
    this.#topics.set(topicArn, deliver);
  }

  /** Answers one AWS Query request body. */
  handle(body: string): QueryReply {
    const requestId = randomUUID();
    const params = parseQueryBody(body);
    const action = params.get('Action') ?? '';
    try {
      return { statusCode: 200, body: queryResponse(action, this.#dispatch(action, params), requestId) };
    } catch (error) {
      const queryError =
        error instanceof QueryError
          ? error
          : new QueryError('InternalError', 'Internal error in the local SNS', 500);
      return { statusCode: queryError.statusCode, body: queryErrorResponse(queryError, requestId) };
    }
  }

  pushes(): readonly PushRecord[] {
    return this.#pushes;
  }

  clearPushes(): void {
    this.#pushes.length = 0;
  }

  endpoints(): {
    endpointArn: string;
    platform: string;
    token: string;
    enabled: boolean;
    customUserData: string;
  }[] {
    return [...this.#endpoints.values()].map((endpoint) => ({
      endpointArn: endpoint.arn,
      platform: SNS_PLATFORMS[endpoint.platform],
      token: endpoint.attributes.Token ?? '',
      enabled: endpoint.attributes.Enabled !== 'false',
      customUserData: endpoint.attributes.CustomUserData ?? '',
    }));
  }

  /** The platform rejected this token: SNS disables every endpoint holding it. Returns how many. */
  rejectToken(token: string): number {
    let count = 0;
    for (const endpoint of this.#endpoints.values()) {
      if (endpoint.attributes.Token !== token) continue;
      endpoint.attributes.Enabled = 'false';
      count += 1;
    }
    return count;
  }

  #dispatch(action: string, params: Map<string, string>): string | undefined {
    switch (action) {
      case 'CreatePlatformEndpoint':
        return this.#createEndpoint(params);
      case 'GetEndpointAttributes':
        return attributesXml(this.#endpoint(required(params, 'EndpointArn')).attributes);
      case 'SetEndpointAttributes': {
        const endpoint = this.#endpoint(required(params, 'EndpointArn'));
        endpoint.attributes = { ...endpoint.attributes, ...attributeMap(params) };
        return undefined;
      }
      case 'DeleteEndpoint':
        // Idempotent in SNS: deleting a deleted endpoint succeeds.
        this.#endpoints.delete(required(params, 'EndpointArn'));
        return undefined;
      case 'Publish':
        return this.#publish(params);
      default:
        throw new QueryError(
          'InvalidAction',
          `The action ${action || '(none)'} is not valid for the local SNS`,
        );
    }
  }

  #createEndpoint(params: Map<string, string>): string {
    const applicationArn = required(params, 'PlatformApplicationArn');
    const token = required(params, 'Token');
    const match = APPLICATION_ARN.exec(applicationArn);
    if (match === null) throw new QueryError('NotFound', 'PlatformApplication does not exist');
    const [, region, account, platform, name] = match as unknown as [
      string,
      string,
      string,
      SnsPlatform,
      string,
    ];
    const attributes: Record<string, string> = { Enabled: 'true', ...attributeMap(params), Token: token };
    const customUserData = params.get('CustomUserData');
    if (customUserData !== undefined) attributes.CustomUserData = customUserData;

    // Idempotent like SNS: the same token and attributes give the same endpoint; different attributes
    // for a known token (another CustomUserData, or Enabled after a rejection) are refused with the
    // existing endpoint's ARN in the message, and the caller updates that endpoint instead.
    for (const endpoint of this.#endpoints.values()) {
      if (endpoint.applicationArn !== applicationArn || endpoint.attributes.Token !== token) continue;
      const differs = Object.entries(attributes).some(([key, value]) => endpoint.attributes[key] !== value);
      if (differs || (endpoint.attributes.CustomUserData ?? '') !== (attributes.CustomUserData ?? '')) {
        throw new QueryError(
          'InvalidParameter',
          `Invalid parameter: Token Reason: Endpoint ${endpoint.arn} already exists with the same Token, but different attributes.`,
        );
      }
      return `<EndpointArn>${escapeXml(endpoint.arn)}</EndpointArn>`;
    }
    const arn = `arn:aws:sns:${region}:${account}:endpoint/${platform}/${name}/${randomUUID()}`;
    this.#endpoints.set(arn, { arn, applicationArn, platform, attributes });
    return `<EndpointArn>${escapeXml(arn)}</EndpointArn>`;
  }

  #publish(params: Map<string, string>): string {
    this.#injectFault(params);
    const topicArn = params.get('TopicArn');
    if (topicArn !== undefined) {
      const deliver = this.#topics.get(topicArn);
      if (deliver === undefined) throw new QueryError('NotFound', 'Topic does not exist', 404);
      deliver(required(params, 'Message'));
      return `<MessageId>${randomUUID()}</MessageId>`;
    }
    const targetArn = params.get('TargetArn');
    if (targetArn === undefined) {
      throw new QueryError(
        'InvalidParameter',
        'Invalid parameter: the local SNS publishes to topic or endpoint ARNs only',
      );
    }
    const endpoint = this.#endpoint(targetArn);
    if (endpoint.attributes.Enabled === 'false')
      throw new QueryError('EndpointDisabled', 'Endpoint is disabled');
    const content = pushContent(
      endpoint.platform,
      required(params, 'Message'),
      params.get('MessageStructure'),
    );
    const owner = customUserData(endpoint.attributes.CustomUserData);
    const push: PushRecord = {
      userId: owner.userId,
      deviceId: owner.deviceId,
      platform: SNS_PLATFORMS[endpoint.platform],
      token: endpoint.attributes.Token ?? '',
      ...content,
      sentAt: new Date().toISOString(),
    };
    this.#pushes.push(push);
    localLog.info(
      `push ${push.platform} -> ${push.userId ?? '?'}/${push.deviceId ?? '?'} ` +
        `(conversation ${push.data.conversationId ?? '?'}, seq ${push.data.seq ?? '?'}, badge ${push.badge ?? '-'})`,
    );
    return `<MessageId>${randomUUID()}</MessageId>`;
  }

  /** Throws the injected failure of this Publish, if the plan has one for it. */
  #injectFault(params: Map<string, string>): void {
    const target = params.get('TargetArn');
    const endpoint = target === undefined ? undefined : this.#endpoints.get(target);
    // EndpointDisabled only makes sense for a push to an endpoint that exists.
    const fault = this.#faults?.next(
      'sns',
      (answer) => answer !== 'EndpointDisabled' || endpoint !== undefined,
    );
    if (fault === undefined) return;
    localLog.info(`fault: SNS Publish to ${target ?? params.get('TopicArn') ?? '?'} -> ${fault} (injected)`);
    if (fault === 'InternalError') throw new QueryError('InternalError', 'Internal Error', 500);
    if (endpoint !== undefined) endpoint.attributes.Enabled = 'false';
    throw new QueryError('EndpointDisabled', 'Endpoint is disabled');
  }

  #endpoint(arn: string): PlatformEndpoint {
    const endpoint = this.#endpoints.get(arn);
    if (endpoint === undefined) throw new QueryError('NotFound', 'Endpoint does not exist', 404);
    return endpoint;
  }
}

function required(params: Map<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === '')
    throw new QueryError('InvalidParameter', `Invalid parameter: ${name}`);
  return value;
}

function customUserData(raw: string | undefined): { userId: string | null; deviceId: string | null } {
  try {
    const parsed: unknown = JSON.parse(raw ?? '');
    if (typeof parsed === 'object' && parsed !== null) {
      const { userId, deviceId } = parsed as Record<string, unknown>;
      return {
        userId: typeof userId === 'string' ? userId : null,
        deviceId: typeof deviceId === 'string' ? deviceId : null,
      };
    }
  } catch {
    // not JSON: the owner is unknown
  }
  return { userId: null, deviceId: null };
}
