/**
 * The fault plans of the chaos suite, one per class at 10–20 % and all of them at once, in the JSON
 * that `PUT /_local/faults` takes (local/faults/fault-plan.ts), and the redrive it ends with.
 */
import type { LocalStackProcess } from '../../local/harness/local-stack-process.ts';

export interface NamedPlan {
  readonly label: string;
  readonly faults: Record<string, { rate: number; answers?: (string | number)[] }>;
}

export const SINGLE_CLASS_PLANS: readonly NamedPlan[] = [
  { label: 'DynamoDB throttled (15 %)', faults: { dynamodb: { rate: 0.15 } } },
  { label: 'PostToConnection 500/429/410 (15 %)', faults: { post: { rate: 0.15 } } },
  { label: 'SNS Publish failing or endpoint disabled (20 %)', faults: { sns: { rate: 0.2 } } },
  { label: 'delivery crashing mid-batch (10 %)', faults: { 'delivery-crash': { rate: 0.1 } } },
  { label: 'delivery timing out (10 %)', faults: { 'delivery-timeout': { rate: 0.1 } } },
  { label: 'sockets lost without $disconnect (10 % of frames)', faults: { lose: { rate: 0.1 } } },
];

/** Every class at once, each at the low end of the range. */
export const ALL_AT_ONCE: NamedPlan = {
  label: 'all classes at once',
  faults: {
    dynamodb: { rate: 0.1 },
    post: { rate: 0.1 },
    sns: { rate: 0.1 },
    'delivery-crash': { rate: 0.1 },
    'delivery-timeout': { rate: 0.1 },
    lose: { rate: 0.1 },
  },
};

/** Redelivers what exhausted its retries (as `npm run admin -- redrive --local` does); how many entries. */
export async function redriveLocal(stack: LocalStackProcess): Promise<{ queued: number; redriven: number }> {
  const queued = async () => {
    const entries = await (await fetch(`${stack.httpUrl}/_local/delivery-failures`)).json();
    return Array.isArray(entries) ? entries.length : 0;
  };
  const before = await queued();
  if (before === 0) return { queued: 0, redriven: 0 };
  const response = await fetch(`${stack.httpUrl}/_local/delivery-failures/redrive`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ limit: 10_000 }),
  });
  if (!response.ok) throw new Error(`redrive answered ${response.status}: ${await response.text()}`);
  return { queued: before, redriven: before - (await queued()) };
}
