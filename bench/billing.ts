/**
 * DynamoDB's billing rules as AWS applies them to on-demand tables, as pure functions of the items
 * involved. DynamoDB Local's `ConsumedCapacity` is not what AWS bills: it reports one unit per item in
 * TransactWriteItems where AWS bills two, nothing for a write whose condition failed (AWS bills it),
 * and says nothing reliable about index writes. The benchmark therefore recomputes every call from the
 * item sizes before and after it, and prints which of these rules it applied.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

export const WRITE_UNIT_BYTES = 1024;
export const READ_UNIT_BYTES = 4096;

/** Every rule the benchmark may apply, by the id it prints next to each call. */
export const RULES = {
  W1: 'Write: 1 WRU per started 1 KB of the larger of the item before and after the write, minimum 1.',
  W2: 'TransactWriteItems: 2 WRU per started 1 KB for each item (prepare + commit); DynamoDB Local reports 1.',
  W3:
    'Write whose condition failed: billed like the write, sized by the larger of the existing and the ' +
    'attempted item; nothing is written to an index; DynamoDB Local reports nothing.',
  W4:
    'Cancelled TransactWriteItems: every item billed at the transactional rate, as if it had committed ' +
    '(an upper bound: AWS bills failed conditional writes and documents no discount for a cancelled ' +
    'transaction); DynamoDB Local reports nothing.',
  G1:
    'GSI: a write that adds, changes (a projected attribute) or removes an item’s index entry costs 1 ' +
    'more WRU per started 1 KB of the entry, 2 when the index key changes (delete + put); an entry that ' +
    'stays absent or unchanged costs nothing. Index writes are not doubled by transactions.',
  R1: 'GetItem: 1 RRU per started 4 KB of the item; an item that does not exist still costs the minimum.',
  R2: 'Query: the sizes of all items read (before any projection) summed, then 1 RRU per started 4 KB, minimum 1.',
  R4: 'BatchGetItem: every key billed as its own GetItem (R1): each item rounded up to 4 KB, a missing one the minimum.',
  R3: 'Eventually consistent reads (the default, and every GSI query) cost half: 0.5 RRU per unit.',
} as const;

export type RuleId = keyof typeof RULES;

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** AWS: (1 byte per two significant digits) + 1; leading and trailing zeroes do not count. */
export function numberSize(text: string): number {
  const mantissa = (text.split(/e/i)[0] ?? '').replace(/[-+.]/g, '');
  const significant = mantissa.replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(significant.length / 2) + 1;
}

/** Size of one attribute value as AWS counts it (lists and maps: 3 bytes + 1 byte per element). */
export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8Bytes(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + 1 + valueSize(element), 0);
  if (value.M !== undefined) return 3 + Object.values(value.M).length + itemSize(value.M);
  throw new Error(`Unknown attribute value ${JSON.stringify(value)}`);
}

/** Attribute names (UTF-8 bytes) plus values. */
export function itemSize(item: Item | undefined): number {
  if (item === undefined) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8Bytes(name) + valueSize(value), 0);
}

export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));

export interface IndexShape {
  readonly indexName: string;
  readonly partitionKey: { readonly name: string };
  readonly sortKey?: { readonly name: string };
  /** Projected attributes; 'ALL' for an index that copies whole items (the `changes` local index). */
  readonly include: readonly string[] | 'ALL';
}

/** The entry an item has in an index (index keys, table keys, projected attributes), or none. */
export function indexEntry(
  item: Item | undefined,
  index: IndexShape,
  tableKeys: readonly string[],
): Item | undefined {
  if (item === undefined) return undefined;
  const indexKeys = [index.partitionKey.name, ...(index.sortKey ? [index.sortKey.name] : [])];
  if (indexKeys.some((name) => item[name] === undefined)) return undefined;
  const entry: Item = {};
  const projected = index.include === 'ALL' ? Object.keys(item) : index.include;
  for (const name of new Set([...indexKeys, ...tableKeys, ...projected])) {
    const value = item[name];
    if (value !== undefined) entry[name] = value;
  }
  return entry;
}

export interface IndexWrite {
  readonly indexName: string;
  readonly units: number;
  /** What happened to the entry, for the printed table. */
  readonly change: 'put' | 'update' | 'delete' | 'key change';
  readonly entryBytes: number;
}

const same = (a: AttributeValue | undefined, b: AttributeValue | undefined): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

/** The index write a successful write causes (rule G1), or undefined when the entry is untouched. */
export function indexWrite(
  before: Item | undefined,
  after: Item | undefined,
  index: IndexShape,
  tableKeys: readonly string[],
): IndexWrite | undefined {
  const old = indexEntry(before, index, tableKeys);
  const now = indexEntry(after, index, tableKeys);
  const { indexName } = index;
  if (old === undefined) {
    if (now === undefined) return undefined;
    return { indexName, units: writeUnits(itemSize(now)), change: 'put', entryBytes: itemSize(now) };
  }
  if (now === undefined) {
    return { indexName, units: writeUnits(itemSize(old)), change: 'delete', entryBytes: itemSize(old) };
  }
  const keyNames = [index.partitionKey.name, ...(index.sortKey ? [index.sortKey.name] : []), ...tableKeys];
  if (keyNames.some((name) => !same(old[name], now[name]))) {
    const units = writeUnits(itemSize(old)) + writeUnits(itemSize(now));
    return { indexName, units, change: 'key change', entryBytes: itemSize(now) };
  }
  const names = new Set([...Object.keys(old), ...Object.keys(now)]);
  if ([...names].every((name) => same(old[name], now[name]))) return undefined;
  return { indexName, units: writeUnits(itemSize(now)), change: 'update', entryBytes: itemSize(now) };
}

export interface ItemWrite {
  /** The item as stored before the call (undefined: it did not exist). */
  readonly before: Item | undefined;
  /** The item as stored after the call (undefined: it does not exist). */
  readonly after: Item | undefined;
  /** What a PutItem tried to store; for a failed condition this is the "attempted item". */
  readonly attempted?: Item | undefined;
}

export interface BilledWrite {
  readonly tableUnits: number;
  readonly indexWrites: readonly IndexWrite[];
  readonly units: number;
  readonly rules: readonly RuleId[];
}

export interface WriteCall {
  readonly items: readonly ItemWrite[];
  readonly transactional: boolean;
  /** False when a condition failed (a single write) or the transaction was cancelled. */
  readonly succeeded: boolean;
  readonly indexes: readonly IndexShape[];
  readonly tableKeys: readonly string[];
}

/** Rules W1-W4 and G1 for one PutItem / UpdateItem / DeleteItem / TransactWriteItems call. */
export function billWrite(call: WriteCall): BilledWrite {
  const rules = new Set<RuleId>(['W1']);
  if (call.transactional) rules.add('W2');
  if (!call.succeeded) rules.add(call.transactional ? 'W4' : 'W3');
  const perItem = call.transactional ? 2 : 1;
  let tableUnits = 0;
  const indexWrites: IndexWrite[] = [];
  for (const item of call.items) {
    const bytes = Math.max(itemSize(item.before), itemSize(item.after), itemSize(item.attempted));
    tableUnits += perItem * writeUnits(bytes);
    if (!call.succeeded) continue;
    for (const index of call.indexes) {
      const write = indexWrite(item.before, item.after, index, call.tableKeys);
      if (write !== undefined) indexWrites.push(write);
    }
  }
  if (indexWrites.length > 0) rules.add('G1');
  const units = tableUnits + indexWrites.reduce((sum, write) => sum + write.units, 0);
  return { tableUnits, indexWrites, units, rules: [...rules] };
}

export interface ReadCall {
  readonly kind: 'get' | 'query' | 'batchGet';
  /**
   * Sizes of the items read: the one item of a GetItem (0 when missing), every item a Query read, one
   * per key of a BatchGetItem (0 when missing).
   */
  readonly itemBytes: readonly number[];
  readonly consistent: boolean;
}

export interface BilledRead {
  readonly units: number;
  readonly rules: readonly RuleId[];
}

const readUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));

/** Rules R1-R4 for one GetItem, Query or BatchGetItem call. */
export function billRead(call: ReadCall): BilledRead {
  const whole =
    call.kind === 'batchGet'
      ? call.itemBytes.reduce((sum, size) => sum + readUnits(size), 0)
      : readUnits(call.itemBytes.reduce((sum, size) => sum + size, 0));
  const rules: RuleId[] = [call.kind === 'get' ? 'R1' : call.kind === 'query' ? 'R2' : 'R4'];
  if (!call.consistent) rules.push('R3');
  return { units: call.consistent ? whole : whole / 2, rules };
}

/** Every index of the table as the billing rules see it: the global ones, and the local ones on PK. */
export function indexShapesOf(table: {
  readonly partitionKey: { readonly name: string };
  readonly globalIndexes: readonly IndexShape[];
  readonly localIndexes: readonly {
    readonly indexName: string;
    readonly sortKey: { readonly name: string };
  }[];
}): IndexShape[] {
  return [
    ...table.globalIndexes,
    ...table.localIndexes.map((index) => ({
      indexName: index.indexName,
      partitionKey: table.partitionKey,
      sortKey: index.sortKey,
      include: 'ALL' as const,
    })),
  ];
}
