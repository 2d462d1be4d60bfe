/**
 * `failures` and `redrive`: what exhausted delivery's retries, read from the on-failure queue and
 * delivered again (docs/delivery.md "Delivery and its failures"). Against the local stack they go through its
 * `/_local/delivery-failures` endpoints; against a deployed stack they run the same redrive
 * (admin/redrive.ts) with your AWS credentials:
 * - the queue (`OnFailureQueueUrl`): SQS ReceiveMessage without long polling, each message hidden while
 *   it is handled; DeleteMessage once its redelivery succeeded; ChangeMessageVisibility back to 0 for
 *   what was only listed or kept, so the next run sees it at once;
 * - what to redeliver: GetItem on the table (`TableName`) for the handler's entries, GetShardIterator
 *   `AT_SEQUENCE_NUMBER` + GetRecords on the table's stream for a batch pointer (24 hours);
 * - the delivery function (`DeliveryFunctionName`): Lambda Invoke, RequestResponse, with the rebuilt
 *   stream event; any `batchItemFailures` or function error is a failed redelivery and keeps the entry.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { DELIVERY_STREAM } from '../definitions/stream.ts';
import { itemReader } from '../functions/adapters/stored-items.ts';
import { readStreamRange } from '../local/stream/stream-range.ts';
import { describePipeline, type PipelineStatus } from '../local/stream/stream-route.ts';
import {
  deliveryOutcome,
  describeFailure,
  type FailureEntry,
  type InvokeDelivery,
  kindOf,
  parseFailureBody,
  parseFailureEntry,
  type QueuedFailure,
  type RedriveQueue,
  type RedriveResult,
  redrive,
} from './redrive.ts';

export type QueueCommand = 'failures' | 'redrive';

export type QueueTarget =
  | { kind: 'local'; url: string; adminKey: string | undefined }
  | { kind: 'aws'; outputsFile: string; stack: string | undefined };

export interface QueueRequest {
  command: QueueCommand;
  target: QueueTarget;
  /** At most this many entries. */
  limit: number;
  /** redrive: read what would be redelivered; invoke nothing, remove nothing. */
  dryRun: boolean;
  json: boolean;
}

/** The text to print, and whether every entry went as asked (exit 0) or not (exit 1). */
export interface QueueCommandResult {
  output: string;
  ok: boolean;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;
/** Listing hides each message this long, and shows it again at once when done. */
const LIST_VISIBILITY_SECONDS = 30;
/** A redrive handles at most 10 messages per receive, each in one delivery invocation (60 s at most). */
const REDRIVE_VISIBILITY_SECONDS = 15 * 60;
/** Receives without long polling sample some of SQS's servers: an empty answer is tried again. */
const EMPTY_RECEIVES = 3;

export interface ListedFailure {
  id: string;
  queuedAt?: string;
  kind: string;
  description: string;
  entry: FailureEntry;
}

export interface DeployedQueueStack {
  queueUrl: string;
  region: string;
  tableName: string | undefined;
  functionName: string | undefined;
}

/** What the outputs file says about the queue, the table and the delivery function. */
export function deployedQueueStack(outputs: Record<string, string>, file: string): DeployedQueueStack {
  const queueUrl = outputs.OnFailureQueueUrl;
  if (queueUrl === undefined) throw new Error(`${file} lacks OnFailureQueueUrl: is it Parley's stack?`);
  const region = outputs.Region ?? /^https:\/\/sqs\.([a-z0-9-]+)\./.exec(queueUrl)?.[1];
  if (region === undefined) throw new Error(`${file} lacks Region`);
  return { queueUrl, region, tableName: outputs.TableName, functionName: outputs.DeliveryFunctionName };
}

/** The deployed on-failure queue as the redrive sees it; listing uses it too. */
export function sqsQueue(client: SQSClient, queueUrl: string, visibilityTimeout: number): RedriveQueue {
  const handles = new Map<string, string>();
  return {
    async receive(max) {
      for (let attempt = 0; attempt < EMPTY_RECEIVES; attempt++) {
        const { Messages = [] } = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(10, max),
            VisibilityTimeout: visibilityTimeout,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['SentTimestamp'],
          }),
        );
        const page: QueuedFailure[] = [];
        for (const message of Messages) {
          if (message.MessageId === undefined || message.ReceiptHandle === undefined) continue;
          handles.set(message.MessageId, message.ReceiptHandle);
          const sent = Number(message.Attributes?.SentTimestamp);
          page.push({
            id: message.MessageId,
            body: message.Body ?? '',
            ...(Number.isFinite(sent) && { queuedAt: new Date(sent).toISOString() }),
          });
        }
        if (page.length > 0) return page;
      }
      return [];
    },
    async remove(entry) {
      await client.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: handles.get(entry.id) }),
      );
    },
    async release(entries) {
      for (let i = 0; i < entries.length; i += 10) {
        const batch = entries.slice(i, i + 10).flatMap((entry, n) => {
          const handle = handles.get(entry.id);
          return handle === undefined ? [] : [{ Id: String(n), ReceiptHandle: handle, VisibilityTimeout: 0 }];
        });
        if (batch.length === 0) continue;
        // Best effort: what is not shown again now reappears when its visibility timeout ends.
        await client
          .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: batch }))
          .catch(() => undefined);
      }
    },
  };
}

/** Up to `limit` entries, each once, shown again in the queue afterwards. */
export async function listQueue(queue: RedriveQueue, limit: number): Promise<QueuedFailure[]> {
  const listed: QueuedFailure[] = [];
  const seen = new Set<string>();
  try {
    while (listed.length < limit) {
      const fresh = (await queue.receive(Math.min(10, limit - listed.length))).filter(
        (entry) => !seen.has(entry.id),
      );
      if (fresh.length === 0) break;
      for (const entry of fresh) {
        seen.add(entry.id);
        listed.push(entry);
      }
    }
  } finally {
    await queue.release(listed);
  }
  return listed.slice(0, limit);
}

/** Runs the deployed delivery function synchronously on the event. */
export function lambdaInvoker(client: LambdaClient, functionName: string): InvokeDelivery {
  return async (event) => {
    const answer = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    const text = answer.Payload === undefined ? '' : new TextDecoder().decode(answer.Payload);
    if (answer.FunctionError !== undefined) {
      const errorType = (parseJson(text) as { errorType?: unknown } | undefined)?.errorType;
      return {
        ok: false,
        reason: `the delivery function failed (${answer.FunctionError}${typeof errorType === 'string' ? `: ${errorType}` : ''})`,
      };
    }
    const response = parseJson(text);
    if (text !== '' && (typeof response !== 'object' || response === null)) {
      return { ok: false, reason: 'the delivery function answered something else than a batch response' };
    }
    return deliveryOutcome(response as DynamoDBBatchResponse | undefined, event);
  };
}

type Outputs = (file: string, stack: string | undefined) => Promise<Record<string, string>>;
type AwsTarget = Extract<QueueTarget, { kind: 'aws' }>;
type LocalTarget = Extract<QueueTarget, { kind: 'local' }>;

export async function runQueueCommand(
  request: QueueRequest,
  outputsOf: Outputs,
): Promise<QueueCommandResult> {
  const { target } = request;
  if (request.command === 'failures') {
    const entries =
      target.kind === 'local'
        ? await listLocal(target, request.limit)
        : await listDeployed(target, request.limit, outputsOf);
    return { output: await withPipeline(formatFailures(entries, request), request), ok: true };
  }
  const results =
    target.kind === 'local'
      ? await redriveLocal(target, request)
      : await redriveDeployed(target, request, outputsOf);
  return {
    output: await withPipeline(formatRedrive(results, request), request),
    ok: results.every((result) => result.outcome === 'redelivered' || result.outcome === 'would_redeliver'),
  };
}

/**
 * Against the local stack, a last line says whether its stream pipeline is idle, i.e. whether more
 * entries may still join the queue (`GET /_local/stream`). Not with --json, whose output is the list.
 */
async function withPipeline(output: string, request: QueueRequest): Promise<string> {
  if (request.target.kind !== 'local' || request.json) return output;
  try {
    const status = (await localRequest(request.target, 'GET', '/_local/stream')) as PipelineStatus;
    return `${output}\n${describePipeline(status)}`;
  } catch (error) {
    return `${output}\nstream: could not be read (${error instanceof Error ? error.message : String(error)})`;
  }
}

async function listDeployed(target: AwsTarget, limit: number, outputsOf: Outputs): Promise<ListedFailure[]> {
  const stack = deployedQueueStack(await outputsOf(target.outputsFile, target.stack), target.outputsFile);
  const sqs = new SQSClient({ region: stack.region });
  try {
    const queued = await listQueue(sqsQueue(sqs, stack.queueUrl, LIST_VISIBILITY_SECONDS), limit);
    return queued.map((entry) => listed(entry.id, entry.queuedAt, parseFailureBody(entry.body)));
  } finally {
    sqs.destroy();
  }
}

async function redriveDeployed(
  target: AwsTarget,
  request: QueueRequest,
  outputsOf: Outputs,
): Promise<RedriveResult[]> {
  const stack = deployedQueueStack(await outputsOf(target.outputsFile, target.stack), target.outputsFile);
  if (stack.tableName === undefined || stack.functionName === undefined) {
    throw new Error(
      `${target.outputsFile} lacks TableName or DeliveryFunctionName: deploy this version of the stack and write its outputs again`,
    );
  }
  const region = { region: stack.region };
  const sqs = new SQSClient(region);
  const lambda = new LambdaClient(region);
  const streams = new DynamoDBStreamsClient(region);
  const dynamodb = new DynamoDBClient(region);
  const table = DynamoDBDocumentClient.from(dynamodb);
  try {
    return await redrive({
      queue: sqsQueue(sqs, stack.queueUrl, REDRIVE_VISIBILITY_SECONDS),
      sources: {
        readItem: itemReader(table, stack.tableName),
        readStream: (batch) =>
          readStreamRange(streams, batch, {
            region: stack.region,
            filterPatterns: DELIVERY_STREAM.filterPatterns,
          }),
      },
      invoke: lambdaInvoker(lambda, stack.functionName),
      limit: request.limit,
      dryRun: request.dryRun,
    });
  } finally {
    for (const client of [sqs, lambda, streams, dynamodb]) client.destroy();
  }
}

async function listLocal(target: LocalTarget, limit: number): Promise<ListedFailure[]> {
  const answer = await localRequest(target, 'GET', '/_local/delivery-failures');
  if (!Array.isArray(answer)) throw new Error('the local stack answered something else than a list');
  return answer.slice(0, limit).map((value: Record<string, unknown>) => {
    const { entryId, queuedAt, ...entry } = value;
    return listed(
      String(entryId),
      typeof queuedAt === 'string' ? queuedAt : undefined,
      parseFailureEntry(entry),
    );
  });
}

async function redriveLocal(target: LocalTarget, request: QueueRequest): Promise<RedriveResult[]> {
  const answer = await localRequest(target, 'POST', '/_local/delivery-failures/redrive', {
    limit: request.limit,
    dryRun: request.dryRun,
  });
  if (!Array.isArray(answer)) throw new Error('the local stack answered something else than a list');
  return answer as RedriveResult[];
}

async function localRequest(
  target: LocalTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: {
      ...(target.adminKey !== undefined && { Authorization: `Bearer ${target.adminKey}` }),
      ...(body !== undefined && { 'Content-Type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  }).catch((error: unknown) => {
    throw new Error(
      `cannot reach the local stack at ${target.url} (is \`npm start\` running?): ${String(error)}`,
    );
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`the local stack answered ${response.status}: ${text.slice(0, 200)}`);
  }
  return parseJson(text);
}

function listed(id: string, queuedAt: string | undefined, entry: FailureEntry): ListedFailure {
  return {
    id,
    ...(queuedAt !== undefined && { queuedAt }),
    kind: kindOf(entry),
    description: describeFailure(entry),
    entry,
  };
}

export function formatFailures(entries: readonly ListedFailure[], request: QueueRequest): string {
  if (request.json) return JSON.stringify(entries, null, 2);
  if (entries.length === 0) return 'the on-failure queue is empty';
  const lines = entries.map((entry) => `${entry.queuedAt ?? '-'}  ${entry.id}  ${entry.description}`);
  const more =
    entries.length >= request.limit ? ` (--limit ${request.limit} reached: there may be more)` : '';
  lines.push(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} in the on-failure queue${more}`);
  return lines.join('\n');
}

const VERDICTS: Record<RedriveResult['outcome'], string> = {
  redelivered: 'redelivered',
  would_redeliver: 'would redeliver',
  failed: 'FAILED, kept',
  not_redeliverable: 'NOT REDELIVERABLE, kept',
};

export function formatRedrive(results: readonly RedriveResult[], request: QueueRequest): string {
  if (request.json) return JSON.stringify(results, null, 2);
  if (results.length === 0) return 'the on-failure queue is empty: nothing to redrive';
  const lines = results.map((result) => {
    const source =
      result.from === undefined
        ? ''
        : ` (${result.records} record${result.records === 1 ? '' : 's'} from the ${result.from})`;
    const reason = result.reason === undefined ? '' : `: ${result.reason}`;
    return `${VERDICTS[result.outcome]}  ${result.id}  ${result.subject}${source}${reason}`;
  });
  const count = (outcome: RedriveResult['outcome']) => results.filter((r) => r.outcome === outcome).length;
  const summary = [
    request.dryRun
      ? `${count('would_redeliver')} would be redelivered`
      : `${count('redelivered')} redelivered and removed`,
    ...(count('failed') > 0 ? [`${count('failed')} failed and kept`] : []),
    ...(count('not_redeliverable') > 0 ? [`${count('not_redeliverable')} not redeliverable and kept`] : []),
  ].join(', ');
  lines.push(
    `${request.dryRun ? 'dry run' : 'redrive'}: ${summary}${request.dryRun ? '; nothing invoked, nothing removed' : ''}`,
  );
  return lines.join('\n');
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
