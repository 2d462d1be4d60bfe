/**
 * The Embedded Metric Format writer: the exact document CloudWatch Logs extracts metrics from, that it
 * follows the specification's rules, and when a line is written at all.
 */
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { METRIC_NAMES, METRIC_NAMESPACE, METRICS } from '../../../definitions/metrics.ts';
import { countMetric, type EmfDocument, emfDocument } from '../../../functions/shared/metrics.ts';

const NOW = new Date('2026-12-01T10:30:00.000Z');

let stdout: MockInstance<typeof process.stdout.write>;

function written(): string[] {
  return stdout.mock.calls.map(([chunk]) => String(chunk));
}

/** The rules of CloudWatch's "Specification: Embedded metric format" that a document can break. */
function expectValidEmf(document: EmfDocument): void {
  expect(Number.isInteger(document._aws.Timestamp)).toBe(true);
  for (const directive of document._aws.CloudWatchMetrics) {
    expect(directive.Namespace.length).toBeGreaterThan(0);
    expect(directive.Dimensions.length).toBeGreaterThanOrEqual(1);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const key of set) {
        // A dimension target is a string member of the root, at most 1024 characters.
        expect(document[key], key).toBeTypeOf('string');
        expect(String(document[key]).length).toBeLessThanOrEqual(1024);
      }
    }
    for (const metric of directive.Metrics) {
      // A metric target is a number member of the root, not nested.
      expect(document[metric.Name], metric.Name).toBeTypeOf('number');
      expect(Number.isFinite(document[metric.Name])).toBe(true);
    }
  }
}

beforeEach(() => {
  stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});

afterEach(() => {
  stdout.mockRestore();
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('the EMF document', () => {
  it('counts a route error under Route and Code, and rolled up under Code alone', () => {
    // WHEN
    const document = emfDocument('RouteErrors', { Route: 'sendMessage', Code: 'internal' }, 1, NOW.getTime());

    // THEN
    expect(document).toStrictEqual({
      _aws: {
        Timestamp: 1796121000000,
        CloudWatchMetrics: [
          {
            Namespace: 'Parley',
            Dimensions: [['Route', 'Code'], ['Code']],
            Metrics: [{ Name: 'RouteErrors', Unit: 'Count' }],
          },
        ],
      },
      Route: 'sendMessage',
      Code: 'internal',
      RouteErrors: 1,
    });
    expectValidEmf(document);
  });

  it('counts a refused connection under its reason', () => {
    const document = emfDocument('ConnectionsRefused', { Reason: 'expired' }, 1, NOW.getTime());

    expect(document).toStrictEqual({
      _aws: {
        Timestamp: 1796121000000,
        CloudWatchMetrics: [
          {
            Namespace: 'Parley',
            Dimensions: [['Reason']],
            Metrics: [{ Name: 'ConnectionsRefused', Unit: 'Count' }],
          },
        ],
      },
      Reason: 'expired',
      ConnectionsRefused: 1,
    });
  });

  it('publishes a metric without dimensions under one empty dimension set', () => {
    const document = emfDocument('FanoutCapped', {}, 3, NOW.getTime());

    expect(document).toStrictEqual({
      _aws: {
        Timestamp: 1796121000000,
        CloudWatchMetrics: [
          { Namespace: 'Parley', Dimensions: [[]], Metrics: [{ Name: 'FanoutCapped', Unit: 'Count' }] },
        ],
      },
      FanoutCapped: 3,
    });
    expectValidEmf(document);
  });

  it.each(METRIC_NAMES)('declares %s with a full dimension set first and only subsets after it', (name) => {
    const [full = [], ...rollups] = METRICS[name].dimensionSets as readonly (readonly string[])[];

    for (const rollup of rollups) {
      expect(rollup.length).toBeLessThan(full.length);
      for (const key of rollup) expect(full).toContain(key);
    }
    // A dimension named like a metric would collide with that metric's count on the root node.
    for (const key of full) expect(METRIC_NAMES).not.toContain(key);
    expect(METRIC_NAMESPACE).toBe('Parley');
  });
});

describe('countMetric', () => {
  it('writes one EMF line to stdout in Lambda, timestamped now', () => {
    // GIVEN the Lambda environment
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'parley-authorizer');
    vi.stubEnv('PARLEY_METRICS', undefined);

    // WHEN
    countMetric('ConnectionsRefused', { Reason: 'revoked' });

    // THEN exactly one newline-terminated JSON object, the whole log event
    const lines = written();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('}\n')).toBe(true);
    expect(lines[0]?.indexOf('\n')).toBe((lines[0]?.length ?? 0) - 1);
    expect(JSON.parse(lines[0] ?? '')).toStrictEqual(
      emfDocument('ConnectionsRefused', { Reason: 'revoked' }, 1, NOW.getTime()),
    );
  });

  it('writes the value it is given', () => {
    vi.stubEnv('PARLEY_METRICS', 'on');

    countMetric('DeliveryFailures', { Class: 'gave_up' }, 4);

    expect(JSON.parse(written()[0] ?? '')).toMatchObject({ Class: 'gave_up', DeliveryFailures: 4 });
  });

  it('writes nothing outside Lambda, where no one reads it', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', undefined);
    vi.stubEnv('PARLEY_METRICS', undefined);

    countMetric('AuthorizerFailures', {});

    expect(written()).toEqual([]);
  });

  it('writes outside Lambda when PARLEY_METRICS=on, and nothing anywhere when it is off', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', undefined);
    vi.stubEnv('PARLEY_METRICS', 'on');
    countMetric('AuthorizerFailures', {});
    expect(written()).toHaveLength(1);

    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'parley-authorizer');
    vi.stubEnv('PARLEY_METRICS', 'off');
    countMetric('AuthorizerFailures', {});
    expect(written()).toHaveLength(1);
  });

  it('is not silenced by LOG_LEVEL: alarms must not go blind with quieter logs', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'parley-send-message');
    vi.stubEnv('PARLEY_METRICS', undefined);
    vi.stubEnv('LOG_LEVEL', 'error');

    countMetric('RouteErrors', { Route: 'sendMessage', Code: 'forbidden' });

    expect(written()).toHaveLength(1);
  });

  it('drops a value that is not a finite number rather than write a line CloudWatch rejects', () => {
    vi.stubEnv('PARLEY_METRICS', 'on');

    countMetric('FanoutCapped', {}, Number.NaN);
    countMetric('FanoutCapped', {}, Number.POSITIVE_INFINITY);

    expect(written()).toEqual([]);
  });
});

it('refuses at compile time a wrong metric name, dimension or value', () => {
  // Never called: `tsc --noEmit` fails when any of these lines compiles.
  const wrong = () => {
    // @ts-expect-error: no such metric
    countMetric('RouteError', { Route: 'sendMessage', Code: 'internal' });
    // @ts-expect-error: RouteErrors needs Code too
    countMetric('RouteErrors', { Route: 'sendMessage' });
    // @ts-expect-error: not a route of definitions/routes.ts
    countMetric('RouteErrors', { Route: 'sendMesage', Code: 'internal' });
    // @ts-expect-error: not a protocol error code
    countMetric('RouteErrors', { Route: 'sendMessage', Code: 'Internal' });
    // @ts-expect-error: not a refusal reason
    countMetric('ConnectionsRefused', { Reason: 'invalid_token' });
    // @ts-expect-error: PushFailures has no gave_up class
    countMetric('PushFailures', { Class: 'gave_up' });
    // @ts-expect-error: AuthorizerFailures has no dimensions
    countMetric('AuthorizerFailures', { Reason: 'expired' });
  };
  expect(wrong).toBeTypeOf('function');
  expect(written()).toEqual([]);
});
