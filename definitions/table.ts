/**
 * The one DynamoDB table, described once. The CDK stack (lib/) and the local stack (local/) both
 * build their table from this object, so keys, indexes, TTL and stream view cannot drift apart.
 * The item layout that lives in these keys is documented in docs/design.md ("Data model") and built in
 * functions/adapters/keys.ts.
 */
export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Non-key attributes copied into the index (projection INCLUDE). */
  readonly include: readonly string[];
}

/**
 * An index on the table's own partition key with another sort key. Unlike a global index it can be
 * read strongly consistently; it must exist when the table is created, and it limits each partition
 * (one conversation's messages) to 10 GB.
 */
export interface LocalIndexDefinition {
  readonly indexName: string;
  readonly sortKey: KeyAttribute;
  /** Every attribute is copied: a query answers with the items' whole state. */
  readonly projection: 'ALL';
}

export interface TableDefinition {
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly globalIndexes: readonly GlobalIndexDefinition[];
  readonly localIndexes: readonly LocalIndexDefinition[];
  /** Epoch-seconds attribute DynamoDB's TTL deletes items by. */
  readonly timeToLiveAttribute: string;
  /** The delivery Lambda compares old and new member items (read cursors), so it needs both images. */
  readonly streamView: 'NEW_AND_OLD_IMAGES';
}

export const TABLE = {
  partitionKey: { name: 'PK', type: 'S' },
  sortKey: { name: 'SK', type: 'S' },
  globalIndexes: [
    {
      // Sparse: only member items with unread messages carry `unreadOwner`, so the push badge
      // (a user's total unread count) reads just the conversations that have something unread.
      indexName: 'unread',
      partitionKey: { name: 'unreadOwner', type: 'S' },
      sortKey: { name: 'PK', type: 'S' },
      include: ['lastSeq', 'readSeq'],
    },
    {
      // A user's conversation list (functions/adapters/list-entries.ts): every member item of theirs,
      // newest change first by `listAt` (the change's 10-minute bucket: a busy conversation rewrites
      // its entry in place, 1 WRU, and moves it, 2 WRU, at most once per bucket), with everything an
      // entry of the list shows, so that a page is one Query. `peer` (direct conversations only) makes
      // it the list of a user's contacts too.
      indexName: 'inbox',
      partitionKey: { name: 'memberOf', type: 'S' },
      sortKey: { name: 'listAt', type: 'S' },
      include: [
        'kind',
        'members',
        'title',
        'changedAt',
        'lastSeq',
        'readSeq',
        'hiddenUntilSeq',
        'lastMessage',
        'changeVersion',
        'peer',
        'peerReadSeq',
        'peerDeliveredSeq',
        'peerStatus',
        'peerLastSeen',
        'blocking',
        'sent',
        'peerSent',
        'pendingRequest',
      ],
    },
    {
      // Who hears a user's presence: the entries whose `peer` is that user (one per direct conversation
      // with them), keyed by conversation, with the entry's owner. Written once, when a direct
      // conversation is created: nothing it holds ever changes.
      indexName: 'contacts',
      partitionKey: { name: 'peer', type: 'S' },
      sortKey: { name: 'PK', type: 'S' },
      include: ['memberOf'],
    },
    {
      // The operators' report queue (functions/adapters/report-store.ts): report items only (the only
      // items with `reportStatus`), newest first per status, so listing the open ones is one Query, never
      // a Scan. One partition per status: reports are filed by people, a few a minute at most, far below
      // the 1,000 writes a second one index partition takes, and a global index's partition has no size
      // limit (the 10 GB item collection limit is the local index's, and binds `REPORT#` partitions only).
      indexName: 'reports',
      partitionKey: { name: 'reportStatus', type: 'S' },
      sortKey: { name: 'reportedAt', type: 'S' },
      include: [
        'reportId',
        'reporterId',
        'conversationId',
        'seq',
        'reason',
        'note',
        'messageCount',
        'resolvedAt',
        'resolvedBy',
        'resolutionNote',
      ],
    },
  ],
  localIndexes: [
    {
      // Sparse: only messages that changed after their commit (edited, deleted, reacted to) carry
      // `version`, so a new message writes no index entry and `sync` by `afterVersion` reads its
      // changes here, consistently, and its new messages in the table by `seq`
      // (functions/domain/versions.ts).
      indexName: 'changes',
      sortKey: { name: 'version', type: 'N' },
      projection: 'ALL',
    },
  ],
  timeToLiveAttribute: 'expiresAt',
  streamView: 'NEW_AND_OLD_IMAGES',
} as const satisfies TableDefinition;

export const UNREAD_INDEX = TABLE.globalIndexes[0].indexName;
export const INBOX_INDEX = TABLE.globalIndexes[1].indexName;
export const CONTACTS_INDEX = TABLE.globalIndexes[2].indexName;
export const REPORTS_INDEX = TABLE.globalIndexes[3].indexName;
export const CHANGES_INDEX = TABLE.localIndexes[0].indexName;
