/**
 * What one million 1:1 messages cost on AWS, from the request units the benchmark counted, with every
 * price written next to the figure it produces. Prices are public on-demand list prices for us-east-1
 * as known in November 2024 (DynamoDB's on-demand throughput prices were halved on 1 November 2024);
 * the benchmark does not fetch them, so check the AWS pricing pages before quoting a figure.
 */
import { heading, textTable } from './text-table.ts';

export const PRICES_AS_OF =
  'us-east-1 on-demand list prices as of November 2024, not re-checked on the run date';

export const PRICES = {
  dynamoWritePerMillion: 0.625,
  dynamoReadPerMillion: 0.125,
  lambdaRequestsPerMillion: 0.2,
  /** arm64, the stack's architecture (first 7.5 billion GB-seconds a month). */
  lambdaArmPerGbSecond: 0.0000133334,
  /** First billion messages a month, metered in 32 KB increments. */
  webSocketMessagesPerMillion: 1.0,
} as const;

/**
 * The Lambda side is an assumption, not a measurement: one sendMessage invocation and one delivery
 * invocation per message (a stream batch of one, the worst case: busier shards batch up to 100), with
 * the memory lib/parley-stack.ts gives them and durations typical of 3-4 DynamoDB round trips in-region.
 */
export const LAMBDA_ASSUMPTIONS = [
  { name: 'sendMessage', memoryMb: 256, billedMs: 40 },
  { name: 'delivery', memoryMb: 512, billedMs: 60 },
] as const;

/** sendMessage in, its `ack` out, the `message` frame posted to the recipient's one connection. */
export const WEBSOCKET_MESSAGES_PER_MESSAGE = 3;

export interface CostLine {
  readonly item: string;
  readonly quantity: string;
  readonly price: string;
  readonly dollars: number;
}

const MILLION = 1_000_000;

/** A price as AWS writes it: at least two decimals, every significant one kept. */
const usd = (price: number): string =>
  `$${price.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 10 })}`;

/** Line items for one million messages, each `writeUnits` WRU and `readUnits` RRU. */
export function costPerMillionMessages(writeUnits: number, readUnits: number): CostLine[] {
  const lines: CostLine[] = [
    {
      item: 'DynamoDB writes',
      quantity: `${writeUnits} M WRU`,
      price: `${usd(PRICES.dynamoWritePerMillion)} per million WRU`,
      dollars: writeUnits * PRICES.dynamoWritePerMillion,
    },
    {
      item: 'DynamoDB reads',
      quantity: `${readUnits} M RRU`,
      price: `${usd(PRICES.dynamoReadPerMillion)} per million RRU`,
      dollars: readUnits * PRICES.dynamoReadPerMillion,
    },
    {
      item: 'Lambda requests',
      quantity: `${LAMBDA_ASSUMPTIONS.length} M invocations`,
      price: `${usd(PRICES.lambdaRequestsPerMillion)} per million`,
      dollars: LAMBDA_ASSUMPTIONS.length * PRICES.lambdaRequestsPerMillion,
    },
  ];
  for (const fn of LAMBDA_ASSUMPTIONS) {
    const gbSeconds = (fn.memoryMb / 1024) * (fn.billedMs / 1000) * MILLION;
    lines.push({
      item: `Lambda duration, ${fn.name} (assumed ${fn.billedMs} ms at ${fn.memoryMb} MB)`,
      quantity: `${gbSeconds.toLocaleString('en-US')} GB-s`,
      price: `${usd(PRICES.lambdaArmPerGbSecond)} per GB-s (arm64)`,
      dollars: gbSeconds * PRICES.lambdaArmPerGbSecond,
    });
  }
  lines.push({
    item: 'API Gateway WebSocket messages',
    quantity: `${WEBSOCKET_MESSAGES_PER_MESSAGE} M messages`,
    price: `${usd(PRICES.webSocketMessagesPerMillion)} per million`,
    dollars: WEBSOCKET_MESSAGES_PER_MESSAGE * PRICES.webSocketMessagesPerMillion,
  });
  return lines;
}

export const dollars = (amount: number): string => `$${amount.toFixed(2)}`;

export function dynamoDbCost(lines: readonly CostLine[]): number {
  return lines
    .filter((line) => line.item.startsWith('DynamoDB'))
    .reduce((sum, line) => sum + line.dollars, 0);
}

export function totalCost(lines: readonly CostLine[]): number {
  return lines.reduce((sum, line) => sum + line.dollars, 0);
}

export function printCost(writeUnits: number, readUnits: number): CostLine[] {
  const lines = costPerMillionMessages(writeUnits, readUnits);
  const table = textTable(
    ['per 1,000,000 1:1 messages', 'quantity', 'price used', 'cost'],
    lines.map((line) => [line.item, line.quantity, line.price, dollars(line.dollars)]),
    ['left', 'right', 'left', 'right'],
  );
  process.stdout.write(
    `${heading('AWS cost of one million 1:1 messages')}` +
      `From the request units counted above (${writeUnits} WRU + ${readUnits} RRU per message); ${PRICES_AS_OF}.\n\n` +
      `${table}\n\n` +
      `  DynamoDB: ${dollars(dynamoDbCost(lines))} per million messages (counted units × prices)\n` +
      `  All of the above: ${dollars(totalCost(lines))} per million messages\n` +
      '  Not included: WebSocket connection minutes ($0.25 per million) and the authorizer and $connect per\n' +
      '  connection, CloudWatch Logs ingestion, X-Ray traces, data transfer, pushes to offline devices.\n',
  );
  return lines;
}
