/**
 * Parley's own CloudWatch metrics, described once. The handlers write them as Embedded Metric Format
 * log lines (functions/shared/metrics.ts) and the CDK stack alarms on and graphs them
 * (lib/constructs/operations.ts); both read the namespace, the names and the dimension sets from
 * here, so a metric cannot be written under one name and watched under another.
 *
 * Every metric is a count of events (unit Count, statistic Sum). A metric nobody wrote in a period has
 * no data point there, so the alarms treat missing data as "nothing went wrong".
 */
import { ERROR_CODES, type ErrorCode } from './error-codes.ts';
import type { ReportReason } from './reports.ts';
import type { RouteKey } from './routes.ts';
import type { SendHookAnswerAction, SendHookEventType, SendHookFailureReason } from './send-hook.ts';

export const METRIC_NAMESPACE = 'Parley';

/**
 * Why the `$connect` authorizer refused a connection (the log line 'connection refused' carries the
 * same value as `reason`, and the finer cause as `detail`). Ordinary traffic: tokens expire, users
 * sign out and get revoked. They are graphed, never alarmed on.
 */
export const REFUSAL_REASONS = [
  /** No token in the query string, the Authorization header or the subprotocol list. */
  'missing_token',
  /** Not a JWT that can be parsed (or over the size limit). */
  'malformed',
  /** Not signed by a key we trust: wrong secret, unknown `kid`, an algorithm we do not accept. */
  'bad_signature',
  /** Past its `exp` (beyond the clock tolerance). */
  'expired',
  /** Signed, but its claims are not acceptable: issuer, audience, `nbf`, `sub`, `jti`, a missing `exp`. */
  'invalid_claims',
  /** The `deviceId` query parameter is not a valid device id. */
  'bad_device_id',
  /** Its `jti` was revoked, or it was issued before the user's "revoke all sessions". */
  'revoked',
  /** A good token of a deactivated user: the one 403. */
  'deactivated',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/**
 * How delivery of one stored record to one target failed (emitted by the delivery Lambda):
 * `transient` is retried through the stream (throttling, 5xx, timeouts); `permanent` is recorded and
 * skipped, since retrying cannot change the answer (403, 413, a conversation that no longer exists);
 * `gave_up` means the record's retries are exhausted and it was sent to the on-failure queue.
 */
export const DELIVERY_FAILURE_CLASSES = ['transient', 'permanent', 'gave_up'] as const;
export type DeliveryFailureClass = (typeof DELIVERY_FAILURE_CLASSES)[number];

/**
 * How a mobile push failed: `transient` is retried with the record; `permanent` is dropped (SNS or the
 * platform refused this request for good: a forbidden call, an invalid parameter, a platform
 * application whose credentials APNs or FCM no longer accept).
 */
export const PUSH_FAILURE_CLASSES = ['transient', 'permanent'] as const;
export type PushFailureClass = (typeof PUSH_FAILURE_CLASSES)[number];

/** The values of RouteErrors' `Code`: every protocol error code (protocol.md "Errors"). */
export const ROUTE_ERROR_CODES = ERROR_CODES;

/** No dimensions: an object with no keys. */
type NoDimensions = { readonly [key: string]: never };

/** The dimensions of each metric and the values they take: what a data point must name, exactly. */
export interface MetricDimensions {
  /** A `$connect` refused with 401, or 403 (`deactivated`). */
  ConnectionsRefused: { readonly Reason: RefusalReason };
  /** The authorizer could not decide (DynamoDB, the JWKS or the secret failing): the client got a 500. */
  AuthorizerFailures: NoDimensions;
  /** A route answered an `error` frame; `Code` is the protocol error code (protocol.md "Errors"). */
  RouteErrors: { readonly Route: RouteKey; readonly Code: ErrorCode };
  /** A delivery target (connection) failed, by class. */
  DeliveryFailures: { readonly Class: DeliveryFailureClass };
  /** A push to a device failed, by class. */
  PushFailures: { readonly Class: PushFailureClass };
  /** A user had more connections or devices than the fan-out cap (definitions/fanout.ts); the rest were left out. */
  FanoutCapped: NoDimensions;
  /** (1.2) The send hook answered (definitions/send-hook.ts): what it decided, for sends and for edits. */
  SendHookAnswers: { readonly Event: SendHookEventType; readonly Answer: SendHookAnswerAction };
  /**
   * (1.2) A call of the send hook failed, by reason; the message was then refused (`internal`) or stored
   * unchanged, as the deployment's `onFailure` says.
   */
  SendHookFailures: { readonly Reason: SendHookFailureReason };
  /**
   * (1.2) A report was filed (a retry of one already stored is not counted again), by its reason. What
   * users do, not a fault: graphed, never alarmed on.
   */
  Reports: { readonly Reason: ReportReason };
}

export type MetricName = keyof MetricDimensions;
export type DimensionName<M extends MetricName> = Extract<keyof MetricDimensions[M], string>;

export interface MetricDefinition<M extends MetricName> {
  /**
   * The dimension sets each data point is published under (EMF `Dimensions`): the first names every
   * dimension of the metric; a further, smaller set publishes the same count rolled up, so that one
   * alarm can watch it across the dimension it leaves out. CloudWatch only matches a metric by its
   * exact dimensions: an alarm must name one of these sets, no more and no fewer.
   */
  readonly dimensionSets: readonly (readonly DimensionName<M>[])[];
}

export const METRICS: { readonly [M in MetricName]: MetricDefinition<M> } = {
  ConnectionsRefused: { dimensionSets: [['Reason']] },
  AuthorizerFailures: { dimensionSets: [[]] },
  // Rolled up by Code too: "any route answered internal" is one alarm rather than one per route.
  RouteErrors: { dimensionSets: [['Route', 'Code'], ['Code']] },
  DeliveryFailures: { dimensionSets: [['Class']] },
  PushFailures: { dimensionSets: [['Class']] },
  FanoutCapped: { dimensionSets: [[]] },
  SendHookAnswers: { dimensionSets: [['Event', 'Answer']] },
  // Rolled up too: one alarm watches every reason.
  SendHookFailures: { dimensionSets: [['Reason'], []] },
  Reports: { dimensionSets: [['Reason']] },
};

/** Every metric's name, for code that walks them all (the tests, the dashboard). */
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];
