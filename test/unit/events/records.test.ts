/**
 * The record → event mapping of the events consumer (functions/events/records.ts), on real-shaped
 * stream records (test/fixtures/stream-*.json): one detail-type per kind of stored change, ids, `seq`
 * and `version` always, message content and report notes only with `eventContent`, and an `id` that
 * is the record's own, so that a record read again (Lambda's retry, a replay) makes the same event.
 * And the consumer's filter (definitions/events.ts) lets through exactly the records that make events.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { EVENT_DETAIL_TYPES, EVENTS_STREAM, UNMAPPED_DETAIL_TYPES } from '../../../definitions/events.ts';
import { EMOJI_SET, reactionAttribute, reactorAttribute } from '../../../functions/adapters/message-item.ts';
import { type EventOutcome, type ParleyEvent, toParleyEvent } from '../../../functions/events/records.ts';
import { compileFilters } from '../../../local/stream/filter-patterns.ts';
import { loadFixture } from '../../support/fixtures.ts';
import {
  connectionInsert,
  conversationInsert,
  deliveryModify,
  messageInsert,
  readModify,
} from '../../support/stream-events.ts';

type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

const MESSAGE_TEXT = 'Are we still on for lunch at noon? I booked the table by the window.';
const EDITED_TEXT = 'Are we still on for lunch at 1? I booked the table by the window.';
const NOTE = 'keeps asking where I live';

const fixture = (name: string) => loadFixture<DynamoDBRecord>(name);
const eventOf = (record: DynamoDBRecord, content = false): ParleyEvent => {
  const outcome = toParleyEvent(record, { content });
  if (outcome.kind !== 'event') throw new Error(`no event: ${outcome.reason}`);
  return outcome.event;
};
const skipped = (outcome: EventOutcome) => outcome.kind === 'skip';

/** The record with its images' items changed (keys kept). */
function withImages(record: DynamoDBRecord, change: { new?: object; old?: object }): DynamoDBRecord {
  const stream = record.dynamodb ?? {};
  const merge = (image: Image | undefined, fields: object | undefined) =>
    fields === undefined || image === undefined
      ? image
      : ({ ...image, ...(marshall(fields, { removeUndefinedValues: true }) as Image) } as Image);
  return {
    ...record,
    dynamodb: {
      ...stream,
      NewImage: merge(stream.NewImage, change.new),
      OldImage: merge(stream.OldImage, change.old),
    },
  };
}

describe('message events', () => {
  it('a new message is message.created: ids, seq, its version (seq × 1,000,000), no content by default', () => {
    const record = messageInsert();
    expect(eventOf(record)).toEqual({
      id: 'c81e728d9d4c2f636f067f89cc14862c',
      detailType: 'message.created',
      time: new Date(1795429805 * 1000).toISOString(),
      detail: {
        id: 'c81e728d9d4c2f636f067f89cc14862c',
        conversationId: 'd_alice_bob',
        seq: 7,
        version: 7_000_000,
        messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
        senderId: 'alice',
        createdAt: '2026-11-23T10:30:05.123Z',
        attachmentCount: 0,
      },
    });
    expect(JSON.stringify(eventOf(record))).not.toContain('lunch');
  });

  it('carries the text with eventContent on, and the same id and time however often the record is read', () => {
    const first = eventOf(messageInsert(), true);
    const replayed = eventOf(messageInsert(), true);
    expect(first.detail.content).toBe(MESSAGE_TEXT);
    expect(replayed).toEqual(first);
  });

  it('an edit is message.updated (change edit) at the version the edit stored; its text only with eventContent', () => {
    const record = fixture('stream-message-edit-modify');
    expect(eventOf(record)).toMatchObject({
      id: '45c48cce2e2d7fbdea1afc51c7c6ad26',
      detailType: 'message.updated',
      detail: {
        conversationId: 'd_alice_bob',
        seq: 7,
        version: 7_000_001,
        messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
        senderId: 'alice',
        change: 'edit',
        editedAt: '2026-11-23T10:31:40.870Z',
      },
    });
    expect(eventOf(record).detail).not.toHaveProperty('content');
    expect(eventOf(record, true).detail.content).toBe(EDITED_TEXT);
  });

  it('a reaction is message.updated (change reaction)', () => {
    const reacted = withImages(fixture('stream-message-edit-modify'), {
      new: {
        [reactionAttribute('👍')]: new Set(['bob']),
        [reactorAttribute('bob')]: new Set(['👍']),
        [EMOJI_SET]: new Set(['👍']),
        version: 7_000_002,
      },
      old: { editedAt: '2026-11-23T10:31:40.870Z', version: 7_000_001 },
    });
    expect(eventOf(reacted).detail).toMatchObject({ change: 'reaction', version: 7_000_002 });
  });

  it('a deletion is message.deleted, with no content even with eventContent on', () => {
    const event = eventOf(fixture('stream-message-delete-modify'), true);
    expect(event).toMatchObject({
      detailType: 'message.deleted',
      detail: {
        conversationId: 'd_alice_bob',
        seq: 7,
        version: 7_000_002,
        messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
        senderId: 'alice',
        deletedAt: '2026-11-23T10:32:02.004Z',
      },
    });
    expect(event.detail).not.toHaveProperty('content');
  });

  it("makes nothing of a write that moved no version: a tombstone's leftovers cleared, an emoji's empty set dropped", () => {
    const deletion = fixture('stream-message-delete-modify');
    const cleared = withImages(deletion, {
      old: { deleted: true, deletedAt: '2026-11-23T10:32:02.004Z', version: 7_000_002 },
    });
    expect(toParleyEvent(cleared, { content: false })).toMatchObject({ kind: 'skip', malformed: false });
    const edit = fixture('stream-message-edit-modify');
    const emojiDropped = withImages(edit, {
      old: { version: 7_000_001, editedAt: '2026-11-23T10:31:40.870Z' },
    });
    expect(skipped(toParleyEvent(emojiDropped, { content: false }))).toBe(true);
  });
});

describe('conversation and member events', () => {
  it('a new group is conversation.created with its kind, members and title', () => {
    expect(eventOf(conversationInsert())).toMatchObject({
      id: 'e4da3b7fbbce2345d7772b0674a318d5',
      detailType: 'conversation.created',
      detail: {
        conversationId: 'grp_5d1c7a2e-8f3b-4c6d-9e0a-1b2c3d4e5f60',
        kind: 'group',
        members: ['alice', 'bob', 'carol'],
        title: 'Weekend trip',
        createdAt: '2026-12-01T09:15:30.250Z',
        createdBy: 'alice',
      },
    });
  });

  it('a direct conversation (from its first message) is conversation.created too, its title null', () => {
    const direct = conversationInsert({
      conversationId: 'd_alice_bob',
      kind: 'direct',
      members: ['alice', 'bob'],
      title: null,
    });
    expect(eventOf(direct).detail).toMatchObject({ kind: 'direct', members: ['alice', 'bob'], title: null });
  });

  it('a group member item removed (leaveConversation) is member.left', () => {
    expect(eventOf(fixture('stream-member-remove'))).toMatchObject({
      id: '6512bd43d9caa6e02c990b0a82652dca',
      detailType: 'member.left',
      detail: { conversationId: 'grp_5d1c7a2e-8f3b-4c6d-9e0a-1b2c3d4e5f60', userId: 'carol', kind: 'group' },
    });
  });

  it('a direct conversation hidden by its leave is member.left, once: a mark that did not move is none', () => {
    const record = fixture('stream-member-leave-modify');
    expect(eventOf(record)).toMatchObject({
      detailType: 'member.left',
      detail: { conversationId: 'd_alice_bob', userId: 'bob', kind: 'direct', hiddenUntilSeq: 7 },
    });
    expect(
      skipped(toParleyEvent(withImages(record, { old: { hiddenUntilSeq: 7 } }), { content: false })),
    ).toBe(true);
  });

  it('makes no member.joined of member items put by a creation (their members are in conversation.created)', () => {
    const remove = fixture('stream-member-remove');
    const stream = remove.dynamodb ?? {};
    const insert: DynamoDBRecord = {
      ...remove,
      eventName: 'INSERT',
      dynamodb: { ...stream, NewImage: stream.OldImage, OldImage: undefined },
    };
    expect(skipped(toParleyEvent(insert, { content: false }))).toBe(true);
  });

  it("makes nothing of a group's conversation item changed by a leave (the member item's REMOVE is the event)", () => {
    const left = {
      ...conversationInsert({ members: ['alice', 'bob'], changedBy: 'leave', leftBy: 'carol' }),
      eventName: 'MODIFY' as const,
    };
    expect(skipped(toParleyEvent(left, { content: false }))).toBe(true);
  });
});

describe('reports and blocks', () => {
  it("a report is report.created: who, where, why; the reporter's note only with eventContent", () => {
    const record = fixture('stream-report-insert');
    expect(eventOf(record)).toEqual({
      id: 'c51ce410c124a10e0db5e4b97fc2af39',
      detailType: 'report.created',
      time: new Date(1795430100 * 1000).toISOString(),
      detail: {
        id: 'c51ce410c124a10e0db5e4b97fc2af39',
        reportId: 'rp_9b2f4c1d7e3a',
        reporterId: 'bob',
        conversationId: 'd_alice_bob',
        seq: 7,
        reason: 'harassment',
        messageCount: 1,
        reportedAt: '2026-11-23T10:35:00.500Z',
      },
    });
    expect(eventOf(record, true).detail.note).toBe(NOTE);
  });

  it('a block is user.blocked (blocked: true), an unblock user.blocked with blocked: false', () => {
    expect(eventOf(fixture('stream-blockedby-insert'))).toMatchObject({
      detailType: 'user.blocked',
      detail: { blockerId: 'bob', blockedId: 'alice', blocked: true, at: '2026-11-23T10:36:12.000Z' },
    });
    expect(eventOf(fixture('stream-blockedby-remove'))).toMatchObject({
      id: '9bf31c7ff062936a96d3c8bd1f8f2ff3',
      detailType: 'user.blocked',
      detail: { blockerId: 'bob', blockedId: 'alice', blocked: false },
    });
  });
});

describe('every record', () => {
  const eventful = [
    messageInsert(),
    fixture('stream-message-edit-modify'),
    fixture('stream-message-delete-modify'),
    conversationInsert(),
    fixture('stream-member-remove'),
    fixture('stream-member-leave-modify'),
    fixture('stream-report-insert'),
    fixture('stream-blockedby-insert'),
    fixture('stream-blockedby-remove'),
  ];
  const uneventful = [readModify(), deliveryModify(), connectionInsert('alice', 'CfQ3bfF3DoECJqQ=')];

  it('maps to each detail-type of the contract that has a stored change, and to none of the others', () => {
    const types = new Set(eventful.map((record) => eventOf(record).detailType));
    expect([...types].sort()).toEqual(
      EVENT_DETAIL_TYPES.filter(
        (type) => !(UNMAPPED_DETAIL_TYPES as readonly string[]).includes(type),
      ).sort(),
    );
  });

  it("has the record's eventID as its id, in the detail too, and no content by default", () => {
    for (const record of eventful) {
      const event = eventOf(record);
      expect(event.id).toBe(record.eventID);
      expect(event.detail.id).toBe(record.eventID);
      expect(JSON.stringify(event.detail)).not.toMatch(/lunch|where I live/);
    }
  });

  it('passes the consumer filter when it makes an event, and is kept out by it otherwise', () => {
    const filter = compileFilters(EVENTS_STREAM.filterPatterns);
    for (const record of eventful) expect(filter(record), record.eventID).toBe(true);
    for (const record of uneventful) {
      expect(filter(record), record.eventID).toBe(false);
      expect(skipped(toParleyEvent(record, { content: false }))).toBe(true);
    }
  });

  it('is skipped as malformed without its eventID, or without the ids its event needs', () => {
    expect(toParleyEvent({ ...messageInsert(), eventID: undefined }, { content: false })).toMatchObject({
      kind: 'skip',
      malformed: true,
    });
    expect(toParleyEvent(messageInsert({ senderId: undefined }), { content: false })).toMatchObject({
      kind: 'skip',
      malformed: true,
    });
  });
});
