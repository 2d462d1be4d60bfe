/**
 * What Parley costs on AWS, from what the benchmark counted (request units, PostToConnection and SNS
 * calls per operation), with every price written next to the figure it produces. Prices are public
 * on-demand list prices for us-east-1 as known in November 2024 (DynamoDB's on-demand throughput
 * prices were halved on 1 November 2024); the benchmark does not fetch them, so check the AWS pricing
 * pages before quoting a figure. Lambda durations are assumptions and say so.
 */
import type { OperationFigures, PriceFigure } from './results.ts';
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
  webSocketConnectionMinutesPerMillion: 0.25,
  /** SNS mobile push notifications (APNs, FCM). */
  snsMobilePushPerMillion: 0.5,
} as const;

/** The same prices with what each is per and where it comes from, for bench-results.json. */
export const PRICE_SOURCES: Record<keyof typeof PRICES, PriceFigure> = {
  dynamoWritePerMillion: {
    usd: PRICES.dynamoWritePerMillion,
    per: 'million write request units',
    source: 'AWS DynamoDB pricing, on-demand, us-east-1, after the 1 November 2024 reduction',
  },
  dynamoReadPerMillion: {
    usd: PRICES.dynamoReadPerMillion,
    per: 'million read request units',
    source: 'AWS DynamoDB pricing, on-demand, us-east-1, after the 1 November 2024 reduction',
  },
  lambdaRequestsPerMillion: {
    usd: PRICES.lambdaRequestsPerMillion,
    per: 'million requests',
    source: 'AWS Lambda pricing, us-east-1, November 2024',
  },
  lambdaArmPerGbSecond: {
    usd: PRICES.lambdaArmPerGbSecond,
    per: 'GB-second, arm64, first 7.5 billion a month',
    source: 'AWS Lambda pricing, us-east-1, November 2024',
  },
  webSocketMessagesPerMillion: {
    usd: PRICES.webSocketMessagesPerMillion,
    per: 'million WebSocket messages (32 KB each), first billion a month',
    source: 'Amazon API Gateway pricing, WebSocket APIs, us-east-1, November 2024',
  },
  webSocketConnectionMinutesPerMillion: {
    usd: PRICES.webSocketConnectionMinutesPerMillion,
    per: 'million connection minutes',
    source: 'Amazon API Gateway pricing, WebSocket APIs, us-east-1, November 2024',
  },
  snsMobilePushPerMillion: {
    usd: PRICES.snsMobilePushPerMillion,
    per: 'million mobile push notifications',
    source: 'Amazon SNS pricing, mobile push, us-east-1, November 2024',
  },
};

export interface LambdaAssumption {
  readonly name: string;
  readonly memoryMb: number;
  readonly billedMs: number;
}

/** One operation as AWS bills it: what the benchmark counted, and what is assumed. */
export interface Workload {
  readonly label: string;
  readonly figures: OperationFigures;
  /** Invocations, with the memory lib/parley-stack.ts gives them and an assumed duration. */
  readonly lambda: readonly LambdaAssumption[];
  /** WebSocket messages besides the posts counted: the frame in and its answer. */
  readonly framesIn: number;
}

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

const SEND = { name: 'sendMessage', memoryMb: 256, billedMs: 40 } as const;
/**
 * One delivery invocation per message (a stream batch of one, the worst case: busy shards batch up to
 * 100), with durations typical of 3-4 DynamoDB round trips in-region; a group's posts and updates go
 * 8 at a time, so about one more round trip per 8 recipients.
 */
const delivery = (recipients: number): LambdaAssumption => ({
  name: 'delivery',
  memoryMb: 512,
  billedMs: 60 + 20 * Math.ceil(Math.max(0, recipients - 1) / 8),
});

export type PricedWorkloads = Record<
  'directMessageOnline' | 'directMessageOffline' | 'groupMessage20',
  Workload
>;

/** The three workloads bench-results.json prices, from the operations the units part measured. */
export function workloads(operations: Record<string, OperationFigures>): PricedWorkloads {
  const of = (name: string): OperationFigures => {
    const figures = operations[name];
    if (figures === undefined) throw new Error(`the units part measured no ${name}`);
    return figures;
  };
  return {
    directMessageOnline: {
      label: '1:1 message, recipient online on one device',
      figures: of('directMessageOnline'),
      lambda: [SEND, delivery(1)],
      framesIn: 2,
    },
    directMessageOffline: {
      label: '1:1 message, recipient offline with one device (push)',
      figures: of('directMessageOffline'),
      lambda: [SEND, delivery(1)],
      framesIn: 2,
    },
    groupMessage20: {
      label: 'message to a group of 20, all online',
      figures: of('groupMessage20'),
      lambda: [SEND, delivery(19)],
      framesIn: 2,
    },
  };
}

/** Line items for one million of `workload`. */
export function costPerMillion(workload: Workload): CostLine[] {
  const { figures } = workload;
  const webSocketMessages = workload.framesIn + figures.postToConnection;
  const lines: CostLine[] = [
    {
      item: 'DynamoDB writes',
      quantity: `${figures.wru} M WRU`,
      price: `${usd(PRICES.dynamoWritePerMillion)} per million WRU`,
      dollars: figures.wru * PRICES.dynamoWritePerMillion,
    },
    {
      item: 'DynamoDB reads',
      quantity: `${figures.rru} M RRU`,
      price: `${usd(PRICES.dynamoReadPerMillion)} per million RRU`,
      dollars: figures.rru * PRICES.dynamoReadPerMillion,
    },
    {
      item: `Lambda requests (${workload.lambda.map((fn) => fn.name).join(' + ')})`,
      quantity: `${workload.lambda.length} M`,
      price: `${usd(PRICES.lambdaRequestsPerMillion)} per million`,
      dollars: workload.lambda.length * PRICES.lambdaRequestsPerMillion,
    },
  ];
  for (const fn of workload.lambda) {
    const gbSeconds = (fn.memoryMb / 1024) * (fn.billedMs / 1000) * MILLION;
    lines.push({
      item: `Lambda duration, ${fn.name}, *assumed* ${fn.billedMs} ms at ${fn.memoryMb} MB`,
      quantity: `${gbSeconds.toLocaleString('en-US')} GB-s`,
      price: `${usd(PRICES.lambdaArmPerGbSecond)} per GB-s (arm64)`,
      dollars: gbSeconds * PRICES.lambdaArmPerGbSecond,
    });
  }
  lines.push({
    item: `API Gateway WebSocket messages (frame in, answer, ${figures.postToConnection} posted)`,
    quantity: `${webSocketMessages} M`,
    price: `${usd(PRICES.webSocketMessagesPerMillion)} per million`,
    dollars: webSocketMessages * PRICES.webSocketMessagesPerMillion,
  });
  if (figures.snsPublish > 0) {
    lines.push({
      item: 'SNS mobile push',
      quantity: `${figures.snsPublish} M`,
      price: `${usd(PRICES.snsMobilePushPerMillion)} per million`,
      dollars: figures.snsPublish * PRICES.snsMobilePushPerMillion,
    });
  }
  return lines;
}

/**
 * A user connected all month who sends nothing: the connection minutes, the SDK's keep-alive `ping`
 * after 4 quiet minutes (a frame in, a `pong` out, a `ping` invocation; no DynamoDB call while the
 * token is valid), and a new connection every 2 hours (API Gateway's limit), each one `$connect` with
 * its authorizer and presence, and one `$disconnect`, as the units part counted them.
 */
export const MONTH_MINUTES = 30 * 24 * 60;
const PING_EVERY_MINUTES = 4;
const RECONNECT_EVERY_MINUTES = 120;
const PING = { name: 'ping', memoryMb: 256, billedMs: 5 } as const;
const CONNECT_LAMBDAS: readonly LambdaAssumption[] = [
  { name: 'authorizer', memoryMb: 256, billedMs: 20 },
  { name: 'connect', memoryMb: 256, billedMs: 30 },
  { name: 'disconnect', memoryMb: 256, billedMs: 30 },
  // The two presence records' stream deliveries.
  delivery(1),
  delivery(1),
];

export function costPerConnectedUserMonth(
  connect: OperationFigures,
  disconnect: OperationFigures,
): CostLine[] {
  const pings = MONTH_MINUTES / PING_EVERY_MINUTES;
  const reconnects = MONTH_MINUTES / RECONNECT_EVERY_MINUTES;
  const gbSeconds = (fns: readonly LambdaAssumption[]) =>
    fns.reduce((sum, fn) => sum + (fn.memoryMb / 1024) * (fn.billedMs / 1000), 0);
  const wru = reconnects * (connect.wru + disconnect.wru);
  const rru = reconnects * (connect.rru + disconnect.rru);
  const posts = reconnects * (connect.postToConnection + disconnect.postToConnection);
  return [
    {
      item: 'connection minutes',
      quantity: MONTH_MINUTES.toLocaleString('en-US'),
      price: `${usd(PRICES.webSocketConnectionMinutesPerMillion)} per million minutes`,
      dollars: (MONTH_MINUTES / MILLION) * PRICES.webSocketConnectionMinutesPerMillion,
    },
    {
      item: `keep-alive: ${pings.toLocaleString('en-US')} pings (frame in, pong out)`,
      quantity: `${(2 * pings).toLocaleString('en-US')} messages`,
      price: `${usd(PRICES.webSocketMessagesPerMillion)} per million`,
      dollars: ((2 * pings) / MILLION) * PRICES.webSocketMessagesPerMillion,
    },
    {
      item: `keep-alive: ping Lambda, *assumed* ${PING.billedMs} ms at ${PING.memoryMb} MB`,
      quantity: `${pings.toLocaleString('en-US')} invocations`,
      price: `${usd(PRICES.lambdaRequestsPerMillion)} per million + GB-s`,
      dollars:
        (pings / MILLION) * PRICES.lambdaRequestsPerMillion +
        pings * gbSeconds([PING]) * PRICES.lambdaArmPerGbSecond,
    },
    {
      item: `DynamoDB: ${reconnects} reconnects (${connect.wru + disconnect.wru} WRU, ${connect.rru + disconnect.rru} RRU each)`,
      quantity: `${wru.toLocaleString('en-US')} WRU, ${rru.toLocaleString('en-US')} RRU`,
      price: `${usd(PRICES.dynamoWritePerMillion)} / ${usd(PRICES.dynamoReadPerMillion)} per million`,
      dollars: (wru / MILLION) * PRICES.dynamoWritePerMillion + (rru / MILLION) * PRICES.dynamoReadPerMillion,
    },
    {
      item: `${reconnects} reconnects: Lambda (${CONNECT_LAMBDAS.map((fn) => fn.name).join(', ')}; *assumed* durations)`,
      quantity: `${(reconnects * CONNECT_LAMBDAS.length).toLocaleString('en-US')} invocations`,
      price: `${usd(PRICES.lambdaRequestsPerMillion)} per million + GB-s`,
      dollars:
        ((reconnects * CONNECT_LAMBDAS.length) / MILLION) * PRICES.lambdaRequestsPerMillion +
        reconnects * gbSeconds(CONNECT_LAMBDAS) * PRICES.lambdaArmPerGbSecond,
    },
    {
      item: `${reconnects} reconnects: presence frames posted to contacts (${connect.postToConnection + disconnect.postToConnection} each)`,
      quantity: `${posts.toLocaleString('en-US')} messages`,
      price: `${usd(PRICES.webSocketMessagesPerMillion)} per million`,
      dollars: (posts / MILLION) * PRICES.webSocketMessagesPerMillion,
    },
  ];
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

const costTable = (title: string, lines: readonly CostLine[], format: (amount: number) => string) =>
  textTable(
    [title, 'quantity', 'price used', 'cost'],
    lines.map((line) => [line.item, line.quantity, line.price, format(line.dollars)]),
    ['left', 'right', 'left', 'right'],
  );

/** Prints each workload's lines and the connected user's month; returns the totals. */
export function printCosts(
  priced: PricedWorkloads,
  connect: OperationFigures,
  disconnect: OperationFigures,
): { perMillion: Record<keyof PricedWorkloads, number>; perConnectedUserMonth: number } {
  const perMillion = { directMessageOnline: 0, directMessageOffline: 0, groupMessage20: 0 };
  const out = [heading('AWS cost'), `From the figures counted above; ${PRICES_AS_OF}.`];
  for (const name of Object.keys(perMillion) as (keyof PricedWorkloads)[]) {
    const workload = priced[name];
    const lines = costPerMillion(workload);
    perMillion[name] = totalCost(lines);
    out.push(
      '',
      `${costTable(`per 1,000,000: ${workload.label}`, lines, dollars)}`,
      `  total ${dollars(totalCost(lines))} per million, of which DynamoDB ${dollars(dynamoDbCost(lines))}`,
    );
  }
  const month = costPerConnectedUserMonth(connect, disconnect);
  const perConnectedUserMonth = totalCost(month);
  out.push(
    '',
    costTable('one user connected for 30 days, sending nothing', month, (amount) => `$${amount.toFixed(5)}`),
    `  total $${perConnectedUserMonth.toFixed(4)} per connected user per month (messages are priced above)`,
    '  Not included: CloudWatch Logs ingestion, X-Ray traces, data transfer, storage of history.',
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return { perMillion, perConnectedUserMonth };
}
