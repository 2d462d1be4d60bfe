/**
 * The machine-readable side of `npm run bench`: every run writes `bench-results.json` at the
 * repository root (git-ignored) with the figures it measured, so a change can be compared with the
 * last run, or gated with `--check`, without reading the printed tables. Parts that did not run are
 * absent; each part's figures are added as it finishes, and the file is written even when a later
 * part fails.
 */
import type { FlatCostResult } from './flat-cost.ts';
import type { ScanBaselineResult } from './scan-baseline.ts';

/** What one operation costs, as AWS bills it (bench/billing.ts), and the calls it makes. */
export interface OperationFigures {
  /** Write request units, AWS's rules. */
  readonly wru: number;
  /** Read request units, AWS's rules. */
  readonly rru: number;
  /** DynamoDB requests (calls), of every kind. */
  readonly requests: number;
  /** PostToConnection calls to API Gateway's `@connections` API. */
  readonly postToConnection: number;
  /** SNS Publish calls (mobile pushes). */
  readonly snsPublish: number;
}

export interface BundleFigures {
  readonly bytes: number;
  /** Median `await import()` of the bundle in a fresh process, on this machine. */
  readonly initMs?: number;
}

export interface LatencyFigures {
  readonly clients: number;
  readonly messages: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly throughputPerS: number;
}

export interface PriceFigure {
  readonly usd: number;
  readonly per: string;
  readonly source: string;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly node: string;
  readonly parts: readonly string[];
  dynamodb?: Record<string, OperationFigures>;
  bundles?: Record<string, BundleFigures>;
  latency?: LatencyFigures;
  /** Open-loop runs at several offered rates, and the first rate whose p95 crossed 100 ms. */
  openLoop?: {
    readonly runs: readonly (LatencyFigures & { offeredPerS: number })[];
    kneePerS: number | null;
  };
  costPerMillionUsd?: {
    directMessageOnline: number;
    directMessageOffline: number;
    groupMessage20: number;
  };
  costPerConnectedUserMonthUsd?: number;
  prices?: Record<string, PriceFigure>;
  /** The 1:1 message with 10, 10,000 and 100,000 other users, connections, conversations, messages. */
  scale?: FlatCostResult;
  /** AWS's WebSocket chat sample design (scan and post to all) beside Parley. */
  scanBaseline?: ScanBaselineResult;
  /** Every budget of architecture.md, with the figure measured and whether it was met. */
  budgets?: Record<string, { readonly measured: number; readonly limit: number; readonly met: boolean }>;
}
