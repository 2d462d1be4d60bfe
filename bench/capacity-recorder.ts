/**
 * Watches every call the handlers' one DynamoDB client sends while a phase is being counted, without
 * changing handler code: a middleware on the client's stack asks for `ReturnConsumedCapacity`, keeps
 * what DynamoDB Local reports, and sizes the items involved with a second, unwatched client (the item
 * before and after each write, every item a read touched) so billing.ts can apply AWS's rules.
 */
import {
  type ConsumedCapacity,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type BilledRead,
  type BilledWrite,
  billRead,
  billWrite,
  type IndexShape,
  type Item,
  type ItemWrite,
  itemSize,
} from './billing.ts';

export interface TableShape {
  readonly keyNames: readonly string[];
  readonly indexes: readonly IndexShape[];
}

export interface RecordedCall {
  readonly phase: string;
  readonly operation: string;
  /** The table, or `table.index` for an index query. */
  readonly target: string;
  /** Reads: strongly consistent or not; undefined for writes. */
  readonly consistent: boolean | undefined;
  readonly outcome: 'ok' | 'condition failed' | 'cancelled';
  /** Item sizes in bytes, as printed. */
  readonly sizes: string;
  /** Units DynamoDB Local reported (undefined when it reported none). */
  readonly localUnits: number | undefined;
  readonly billed: { kind: 'read'; read: BilledRead } | { kind: 'write'; write: BilledWrite };
}

type Input = Record<string, unknown>;
type Output = { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] };

const CONDITION_FAILED = 'ConditionalCheckFailedException';
const CANCELLED = 'TransactionCanceledException';

export class CapacityRecorder {
  readonly #probe: DynamoDBClient;
  readonly #table: TableShape;
  readonly #calls: { order: number; call: RecordedCall }[] = [];
  #phase: string | undefined;
  #started = 0;

  constructor(client: DynamoDBDocumentClient, probe: DynamoDBClient, table: TableShape) {
    this.#probe = probe;
    this.#table = table;
    client.middlewareStack.add(
      (next) => async (args) =>
        this.#phase === undefined
          ? next(args)
          : next({ ...args, input: { ...(args.input as Input), ReturnConsumedCapacity: 'INDEXES' } }),
      { step: 'initialize', name: 'benchReturnConsumedCapacity' },
    );
    // At the build step lib-dynamodb has marshalled the input, so items arrive as attribute values.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const phase = this.#phase;
        if (phase === undefined) return next(args);
        const operation = String(context.commandName).replace(/Command$/, '');
        return this.#observe(phase, operation, args.input as Input, () => next(args));
      },
      { step: 'build', name: 'benchObserveCapacity' },
    );
  }

  /** Counts every call `run` makes under `phase`. Phases run one after the other. */
  async during<T>(phase: string, run: () => Promise<T>): Promise<T> {
    this.#phase = phase;
    try {
      return await run();
    } finally {
      this.#phase = undefined;
    }
  }

  /** The calls of `phase`, in the order they were sent. */
  callsOf(phase: string): RecordedCall[] {
    return this.#calls
      .filter(({ call }) => call.phase === phase)
      .sort((a, b) => a.order - b.order)
      .map(({ call }) => call);
  }

  async #observe<R extends { output: unknown }>(
    phase: string,
    operation: string,
    input: Input,
    send: () => Promise<R>,
  ): Promise<R> {
    const order = this.#started++;
    const record = (call: RecordedCall) => this.#calls.push({ order, call });
    if (operation === 'GetItem' || operation === 'Query') {
      const result = await send();
      record(await this.#read(phase, operation, input, result.output as Output));
      return result;
    }
    if (operation === 'BatchGetItem') {
      const result = await send();
      record(await this.#batchRead(phase, input, result.output as Output));
      return result;
    }
    const writes = this.#writeTargets(operation, input);
    const before = await Promise.all(writes.map((write) => this.#current(write.table, write.key)));
    try {
      const result = await send();
      const after = await Promise.all(writes.map((write) => this.#current(write.table, write.key)));
      record(this.#write(phase, operation, writes, before, after, 'ok', result.output as Output));
      return result;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === CONDITION_FAILED || name === CANCELLED) {
        const outcome = name === CANCELLED ? 'cancelled' : 'condition failed';
        record(this.#write(phase, operation, writes, before, before, outcome, {}));
      }
      throw error;
    }
  }

  async #read(phase: string, operation: string, input: Input, output: Output): Promise<RecordedCall> {
    const table = String(input.TableName);
    const index = typeof input.IndexName === 'string' ? input.IndexName : undefined;
    const consistent = input.ConsistentRead === true;
    let itemBytes: number[];
    let sizes: string;
    if (operation === 'GetItem') {
      const item = await this.#current(table, input.Key as Item);
      itemBytes = [itemSize(item)];
      sizes = item === undefined ? 'no item' : `${itemSize(item)} B`;
    } else {
      itemBytes = (await this.#itemsQueried(input)).map(itemSize);
      const total = itemBytes.reduce((sum, bytes) => sum + bytes, 0);
      sizes = `${itemBytes.length} item${itemBytes.length === 1 ? '' : 's'}, ${total} B`;
    }
    return {
      phase,
      operation,
      target: index === undefined ? table : `${table}.${index}`,
      consistent,
      outcome: 'ok',
      sizes,
      localUnits: reportedUnits(output),
      billed: {
        kind: 'read',
        read: billRead({ kind: operation === 'GetItem' ? 'get' : 'query', itemBytes, consistent }),
      },
    };
  }

  /** Every key asked for is sized (a key left unprocessed and asked again is billed again, as AWS does). */
  async #batchRead(phase: string, input: Input, output: Output): Promise<RecordedCall> {
    const requests = Object.entries(
      input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>,
    );
    const itemBytes: number[] = [];
    let consistent = true;
    for (const [table, request] of requests) {
      consistent &&= request.ConsistentRead === true;
      for (const key of request.Keys) itemBytes.push(itemSize(await this.#current(table, key)));
    }
    const found = itemBytes.filter((size) => size > 0);
    return {
      phase,
      operation: 'BatchGetItem',
      target: requests.map(([table]) => table).join(', '),
      consistent,
      outcome: 'ok',
      sizes: `${itemBytes.length} keys, ${found.length} found, ${found.reduce((sum, size) => sum + size, 0)} B`,
      localUnits: reportedUnits(output),
      billed: { kind: 'read', read: billRead({ kind: 'batchGet', itemBytes, consistent }) },
    };
  }

  #write(
    phase: string,
    operation: string,
    targets: readonly WriteTarget[],
    before: readonly (Item | undefined)[],
    after: readonly (Item | undefined)[],
    outcome: RecordedCall['outcome'],
    output: Output,
  ): RecordedCall {
    const items: ItemWrite[] = targets.map((target, i) => ({
      before: before[i],
      after: after[i],
      attempted: target.attempted,
    }));
    const write = billWrite({
      items,
      transactional: operation === 'TransactWriteItems',
      succeeded: outcome === 'ok',
      indexes: this.#table.indexes,
      tableKeys: this.#table.keyNames,
    });
    const itemSizes = items
      .map((item) => `${bytes(item.before)}→${bytes(outcome === 'ok' ? item.after : item.attempted)}`)
      .join(' + ');
    const entries = write.indexWrites.map((w) => `; ${w.indexName} ${w.change} ${w.entryBytes} B`).join('');
    return {
      phase,
      operation,
      target: [...new Set(targets.map((target) => target.table))].join(', '),
      consistent: undefined,
      outcome,
      sizes: `${itemSizes} B${entries}`,
      localUnits: reportedUnits(output),
      billed: { kind: 'write', write },
    };
  }

  /** The items a write touches: their keys, and what a Put tries to store. */
  #writeTargets(operation: string, input: Input): WriteTarget[] {
    const keyOf = (item: Item): Item =>
      Object.fromEntries(this.#table.keyNames.map((name) => [name, item[name] as Item[string]]));
    const target = (part: Input): WriteTarget => {
      const table = String(part.TableName);
      if (part.Item !== undefined) {
        const item = part.Item as Item;
        return { table, key: keyOf(item), attempted: item };
      }
      return { table, key: part.Key as Item, attempted: undefined };
    };
    switch (operation) {
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem':
        return [target(input)];
      case 'TransactWriteItems':
        return (input.TransactItems as Input[]).map((entry) => {
          // A ConditionCheck is billed like a write of the item it checks (W2), and changes nothing.
          const part = (entry.Put ?? entry.Update ?? entry.Delete ?? entry.ConditionCheck) as
            | Input
            | undefined;
          if (part === undefined) throw new Error(`transaction part not modelled: ${Object.keys(entry)}`);
          return target(part);
        });
      case 'BatchWriteItem':
        // Billed item by item like PutItem/DeleteItem (W1); unprocessed items asked again are billed again.
        return Object.entries(input.RequestItems as Record<string, Input[]>).flatMap(([table, requests]) =>
          requests.map((request) => {
            const put = request.PutRequest as Input | undefined;
            const item = (put?.Item ?? (request.DeleteRequest as Input).Key) as Item;
            return target({ TableName: table, ...(put === undefined ? { Key: item } : { Item: item }) });
          }),
        );
      default:
        throw new Error(
          `the benchmark does not model ${operation}; add its billing rule to bench/billing.ts`,
        );
    }
  }

  async #current(table: string, key: Item): Promise<Item | undefined> {
    const { Item } = await this.#probe.send(
      new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  /** The same Query without its projection: AWS bills the whole items read, not what is returned. */
  async #itemsQueried(input: Input): Promise<Item[]> {
    if (input.FilterExpression !== undefined)
      throw new Error('the benchmark does not model filtered queries');
    const { ProjectionExpression, ReturnConsumedCapacity, ExpressionAttributeNames, ...query } =
      input as unknown as QueryCommandInput;
    const stillUsed = Object.entries(ExpressionAttributeNames ?? {}).filter(([name]) =>
      String(query.KeyConditionExpression).includes(name),
    );
    const { Items } = await this.#probe.send(
      new QueryCommand({
        ...query,
        ...(stillUsed.length > 0 && { ExpressionAttributeNames: Object.fromEntries(stillUsed) }),
      }),
    );
    return Items ?? [];
  }
}

interface WriteTarget {
  readonly table: string;
  readonly key: Item;
  readonly attempted: Item | undefined;
}

const bytes = (item: Item | undefined): string => (item === undefined ? '-' : String(itemSize(item)));

function reportedUnits(output: Output): number | undefined {
  const reported = output.ConsumedCapacity;
  if (reported === undefined) return undefined;
  const all = Array.isArray(reported) ? reported : [reported];
  return all.reduce((sum, capacity) => sum + (capacity.CapacityUnits ?? 0), 0);
}
