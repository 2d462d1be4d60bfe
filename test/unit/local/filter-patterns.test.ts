import { describe, expect, it } from 'vitest';
import { DELIVERY_STREAM } from '../../../definitions/stream.ts';
import { compileFilters } from '../../../local/stream/filter-patterns.ts';

const record = (eventName: string, newImage: Record<string, unknown>) => ({
  eventName,
  eventSource: 'aws:dynamodb',
  dynamodb: { Keys: { PK: { S: 'CONV#c1' } }, NewImage: newImage },
});

describe('stream filter patterns (the delivery stream definition)', () => {
  const filter = compileFilters(DELIVERY_STREAM.filterPatterns);

  it('lets a committed message through', () => {
    expect(filter(record('INSERT', { type: { S: 'message' } }))).toBe(true);
  });

  it('lets a new conversation through (a group, or a direct one made by its first message)', () => {
    expect(filter(record('INSERT', { type: { S: 'conversation' } }))).toBe(true);
    expect(filter(record('MODIFY', { type: { S: 'conversation' } }))).toBe(false);
  });

  it('lets a leave through: the group item, the removed member item, a direct conversation hidden', () => {
    expect(filter(record('MODIFY', { type: { S: 'conversation' }, changedBy: { S: 'leave' } }))).toBe(true);
    // the leaver's connections get `left`: a group's member item removed, a direct one's marked hidden
    expect(filter({ eventName: 'REMOVE', dynamodb: { OldImage: { type: { S: 'member' } } } })).toBe(true);
    expect(filter(record('MODIFY', { type: { S: 'member' }, changedBy: { S: 'leave' } }))).toBe(true);
  });

  it('lets a member item moved by markRead through', () => {
    expect(filter(record('MODIFY', { type: { S: 'member' }, changedBy: { S: 'read' } }))).toBe(true);
  });

  it('lets an accepted request through (the acceptor’s item), and not the other member’s item of it', () => {
    expect(filter(record('MODIFY', { type: { S: 'member' }, changedBy: { S: 'accept' } }))).toBe(true);
    expect(filter(record('MODIFY', { type: { S: 'member' }, changedBy: { S: 'peer-accept' } }))).toBe(false);
  });

  it('lets a connection appearing or going through (presence), and nothing else of it', () => {
    expect(filter(record('INSERT', { type: { S: 'connection' } }))).toBe(true);
    const removed = { eventName: 'REMOVE', dynamodb: { Keys: {}, OldImage: { type: { S: 'connection' } } } };
    expect(filter(removed)).toBe(true);
    expect(filter(record('MODIFY', { type: { S: 'connection' } }))).toBe(false);
    // but a connection a frame route asked to close (its token expired) goes to delivery
    expect(
      filter(record('MODIFY', { type: { S: 'connection' }, closeRequested: { S: 'token_expired' } })),
    ).toBe(true);
    expect(filter({ eventName: 'REMOVE', dynamodb: { OldImage: { type: { S: 'presence' } } } })).toBe(false);
  });

  it("filters out the delivery Lambda's own member updates and other item types", () => {
    expect(filter(record('MODIFY', { type: { S: 'member' }, changedBy: { S: 'delivery' } }))).toBe(false);
    expect(filter(record('MODIFY', { type: { S: 'member' } }))).toBe(false);
    expect(filter(record('INSERT', { type: { S: 'presence' } }))).toBe(false);
    expect(filter(record('INSERT', { type: { S: 'member' } }))).toBe(false);
    expect(filter(record('INSERT', { type: { S: 'createReceipt' } }))).toBe(false);
    expect(filter(record('REMOVE', { type: { S: 'message' } }))).toBe(false);
    expect(filter({ eventName: 'INSERT' })).toBe(false);
  });
});

describe('compileFilters', () => {
  it('matches any of the listed values, and list fields by any element', () => {
    const filter = compileFilters([{ a: ['x', 2, true, null], b: { c: ['y'] } }]);
    expect(filter({ a: 2, b: { c: 'y' } })).toBe(true);
    expect(filter({ a: null, b: { c: ['z', 'y'] } })).toBe(true);
    expect(filter({ a: 'other', b: { c: 'y' } })).toBe(false);
    expect(filter({ a: 'x', b: 'y' })).toBe(false);
  });

  it('lets everything through without patterns', () => {
    expect(compileFilters([])({ anything: 1 })).toBe(true);
  });

  it('refuses content filters it does not implement instead of mismatching them', () => {
    expect(() => compileFilters([{ a: [{ prefix: 'x' }] }])).toThrow(/only exact values/);
    expect(() => compileFilters([{ a: 'x' }])).toThrow(/list of values or an object/);
  });
});
