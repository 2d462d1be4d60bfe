/** The AWS billing rules the benchmark applies to DynamoDB Local's calls (bench/billing.ts). */
import { describe, expect, it } from 'vitest';
import {
  billRead,
  billWrite,
  type Item,
  indexWrite,
  itemSize,
  numberSize,
  type WriteCall,
  writeUnits,
} from '../../../bench/billing.ts';
import { TABLE } from '../../../definitions/table.ts';

const TABLE_KEYS = [TABLE.partitionKey.name, TABLE.sortKey.name];
const UNREAD = TABLE.globalIndexes[0];

/** An item of `bytes` bytes: `PK` and `SK` (6 bytes with their names) and padding in `x`. */
function itemOf(bytes: number, extra: Item = {}): Item {
  const item: Item = { PK: { S: 'a' }, SK: { S: 'b' }, ...extra };
  return { ...item, x: { S: 'y'.repeat(bytes - itemSize(item) - 1) } };
}

function member(fields: {
  lastSeq: number;
  readSeq: number;
  unreadOwner?: string;
  changedBy?: string;
}): Item {
  return {
    PK: { S: 'CONV#dm_alice_bob' },
    SK: { S: 'MEMBER#bob' },
    type: { S: 'member' },
    lastSeq: { N: String(fields.lastSeq) },
    readSeq: { N: String(fields.readSeq) },
    changedBy: { S: fields.changedBy ?? 'delivery' },
    ...(fields.unreadOwner === undefined ? {} : { unreadOwner: { S: fields.unreadOwner } }),
  };
}

const write = (call: Partial<WriteCall> & Pick<WriteCall, 'items'>): ReturnType<typeof billWrite> =>
  billWrite({ transactional: false, succeeded: true, indexes: [UNREAD], tableKeys: TABLE_KEYS, ...call });

describe('item size', () => {
  it.each([
    ['7', 2],
    ['123', 3],
    ['100', 2],
    ['0.0015', 2],
    ['-12.50', 3],
    ['0', 1],
  ])('counts the number %s as %i bytes (1 per two significant digits, + 1)', (text, bytes) => {
    expect(numberSize(text)).toBe(bytes);
  });

  it('adds attribute names and values in UTF-8 bytes', () => {
    expect(itemSize({ PK: { S: 'CONV#x' }, seq: { N: '12' } })).toBe(2 + 6 + 3 + 2);
    expect(itemSize({ é: { S: 'ü' } })).toBe(4);
  });

  it('counts 3 bytes for a list or map and 1 per element', () => {
    expect(itemSize({ l: { L: [{ S: 'ab' }, { N: '1' }] } })).toBe(1 + 3 + (1 + 2) + (1 + 2));
    expect(itemSize({ m: { M: { k: { BOOL: true } } } })).toBe(1 + 3 + 1 + (1 + 1));
  });

  it('has no size when the item does not exist', () => {
    expect(itemSize(undefined)).toBe(0);
  });
});

describe('write units', () => {
  it.each([
    [0, 1],
    [1024, 1],
    [1025, 2],
    [4096, 4],
  ])('bills %i bytes as %i WRU', (bytes, units) => {
    expect(writeUnits(bytes)).toBe(units);
  });

  it('bills a new item by its size', () => {
    expect(write({ items: [{ before: undefined, after: itemOf(500) }] })).toMatchObject({
      units: 1,
      rules: ['W1'],
    });
  });

  it('bills the larger of the item before and after the write', () => {
    const shrink = write({ items: [{ before: itemOf(1500), after: itemOf(200) }] });
    expect(shrink.units).toBe(2);
  });

  it('bills 2 WRU per KB for each item of a transaction, where DynamoDB Local reports 1', () => {
    const billed = write({
      transactional: true,
      items: [
        { before: undefined, after: itemOf(431) },
        { before: undefined, after: itemOf(1100) },
      ],
    });
    expect(billed).toMatchObject({ tableUnits: 2 + 4, units: 6, rules: ['W1', 'W2'] });
  });

  it('bills a write whose condition failed like the write, sized by the larger of existing and attempted', () => {
    const billed = write({
      succeeded: false,
      items: [{ before: itemOf(300), after: itemOf(300), attempted: itemOf(1200) }],
    });
    expect(billed).toMatchObject({ units: 2, indexWrites: [], rules: ['W1', 'W3'] });
  });

  it('bills a cancelled transaction at the transactional rate and writes no index', () => {
    const before = member({ lastSeq: 1, readSeq: 1 });
    const billed = write({
      transactional: true,
      succeeded: false,
      items: [
        { before: undefined, after: undefined, attempted: itemOf(431) },
        { before, after: before, attempted: member({ lastSeq: 2, readSeq: 1, unreadOwner: 'bob' }) },
      ],
    });
    expect(billed).toMatchObject({ units: 4, indexWrites: [], rules: ['W1', 'W2', 'W4'] });
  });
});

describe('index writes (the sparse unread index)', () => {
  it('puts an entry when the update adds the index key', () => {
    const billed = write({
      items: [
        {
          before: member({ lastSeq: 1, readSeq: 1 }),
          after: member({ lastSeq: 2, readSeq: 1, unreadOwner: 'bob' }),
        },
      ],
    });
    expect(billed).toMatchObject({ tableUnits: 1, units: 2, rules: ['W1', 'G1'] });
    expect(billed.indexWrites).toEqual([
      expect.objectContaining({ indexName: 'unread', change: 'put', units: 1 }),
    ]);
  });

  it('updates the entry when a projected attribute changes', () => {
    const before = member({ lastSeq: 1, readSeq: 0, unreadOwner: 'bob' });
    const after = member({ lastSeq: 2, readSeq: 0, unreadOwner: 'bob' });
    expect(indexWrite(before, after, UNREAD, TABLE_KEYS)).toMatchObject({ change: 'update', units: 1 });
  });

  it('deletes the entry when the index key is removed', () => {
    const before = member({ lastSeq: 2, readSeq: 0, unreadOwner: 'bob' });
    const after = member({ lastSeq: 2, readSeq: 2, changedBy: 'read' });
    expect(indexWrite(before, after, UNREAD, TABLE_KEYS)).toMatchObject({ change: 'delete', units: 1 });
  });

  it('deletes and puts when the index key changes', () => {
    const before = member({ lastSeq: 2, readSeq: 0, unreadOwner: 'bob' });
    const after = member({ lastSeq: 2, readSeq: 0, unreadOwner: 'carol' });
    expect(indexWrite(before, after, UNREAD, TABLE_KEYS)).toMatchObject({ change: 'key change', units: 2 });
  });

  it('costs nothing when only attributes the index does not project change', () => {
    const before = member({ lastSeq: 2, readSeq: 0, unreadOwner: 'bob', changedBy: 'delivery' });
    const after = member({ lastSeq: 2, readSeq: 0, unreadOwner: 'bob', changedBy: 'read' });
    expect(indexWrite(before, after, UNREAD, TABLE_KEYS)).toBeUndefined();
  });

  it('costs nothing for an item that is in the index neither before nor after', () => {
    expect(write({ items: [{ before: undefined, after: itemOf(431) }] }).indexWrites).toEqual([]);
  });
});

describe('read units', () => {
  it('bills an eventually consistent GetItem at half a unit', () => {
    expect(billRead({ kind: 'get', itemBytes: [218], consistent: false })).toEqual({
      units: 0.5,
      rules: ['R1', 'R3'],
    });
  });

  it('bills a GetItem of a missing item the minimum', () => {
    expect(billRead({ kind: 'get', itemBytes: [0], consistent: true }).units).toBe(1);
    expect(billRead({ kind: 'get', itemBytes: [0], consistent: false }).units).toBe(0.5);
  });

  it('rounds a Query on the sum of the items read, not item by item', () => {
    expect(billRead({ kind: 'query', itemBytes: Array(10).fill(400), consistent: true })).toEqual({
      units: 1,
      rules: ['R2'],
    });
    expect(billRead({ kind: 'query', itemBytes: [3000, 2000], consistent: true }).units).toBe(2);
  });

  it('bills a Query that finds nothing the minimum', () => {
    expect(billRead({ kind: 'query', itemBytes: [], consistent: false }).units).toBe(0.5);
  });

  it('bills a BatchGetItem key by key, like that many GetItems, missing items the minimum', () => {
    // 99 user states, 2 of them present and small, the rest missing: 99 × 0.5
    const itemBytes = [40, 52, ...Array(97).fill(0)];
    expect(billRead({ kind: 'batchGet', itemBytes, consistent: false })).toEqual({
      units: 49.5,
      rules: ['R4', 'R3'],
    });
    expect(billRead({ kind: 'batchGet', itemBytes: [5000, 10], consistent: true }).units).toBe(3);
  });
});
