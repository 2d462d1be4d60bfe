/**
 * Counts for CloudWatch, as Embedded Metric Format: one JSON line on stdout per data point, which
 * CloudWatch Logs turns into a metric of the log group's account and region. No SDK client, no
 * PutMetricData call, no permission beyond writing logs, nothing buffered that a crash could lose
 * before the line is out. The names, dimensions and namespace come from definitions/metrics.ts, so a
 * misspelt metric or dimension does not compile.
 *
 * The line goes straight to `process.stdout`, as the logger's lines do: with Lambda's JSON log format,
 * `console.*` output is wrapped in Lambda's own JSON object, which would hide the `_aws` member from
 * CloudWatch; a raw stdout line is stored as written.
 *
 * Written only where CloudWatch reads it, in Lambda (AWS_LAMBDA_FUNCTION_NAME is set there), and not by
 * LOG_LEVEL: an alarm must not go blind because someone quietened the logs. Elsewhere (tests, the
 * local stack, the benchmark) nothing would read the lines; PARLEY_METRICS=on writes them anyway,
 * PARLEY_METRICS=off never.
 */
import {
  METRIC_NAMESPACE,
  METRICS,
  type MetricDimensions,
  type MetricName,
} from '../../definitions/metrics.ts';

/** One EMF document, as CloudWatch Logs expects it (CloudWatch "Specification: Embedded metric format"). */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: 'Count' }[];
    }[];
  };
  [member: string]: unknown;
}

/** Counts `value` events (default 1) of metric `name` under exactly `dimensions`. */
export function countMetric<M extends MetricName>(name: M, dimensions: MetricDimensions[M], value = 1): void {
  if (!metricsEnabled()) return;
  // A NaN or Infinity would serialise to null and CloudWatch would reject the whole line.
  if (!Number.isFinite(value)) return;
  process.stdout.write(`${JSON.stringify(emfDocument(name, dimensions, value, Date.now()))}\n`);
}

export function emfDocument<M extends MetricName>(
  name: M,
  dimensions: MetricDimensions[M],
  value: number,
  timestamp: number,
): EmfDocument {
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: METRICS[name].dimensionSets.map((set) => [...set]),
          Metrics: [{ Name: name, Unit: 'Count' }],
        },
      ],
    },
    // Dimension values are root members that the dimension sets name; the count is the member named
    // after the metric.
    ...(dimensions as Record<string, string>),
    [name]: value,
  };
}

function metricsEnabled(): boolean {
  const setting = process.env.PARLEY_METRICS;
  if (setting === 'on') return true;
  if (setting === 'off') return false;
  return process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined;
}
