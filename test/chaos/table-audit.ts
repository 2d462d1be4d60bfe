/**
 * What the chaos suite checks in the table itself, read straight from DynamoDB Local: each
 * conversation's messages (one per clientMessageId, gapless seqs, and what a client must show of each),
 * the connection items left, and the presence sets.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  CONNECTION_PREFIX,
  conversationPartition,
  keys,
  MESSAGE_PREFIX,
} from '../../functions/adapters/keys.ts';
import { reactionsOf } from '../../functions/adapters/message-item.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local.ts';

export interface StoredMessage {
  readonly seq: number;
  readonly messageId: string;
  readonly senderId: string;
  readonly clientMessageId: string;
  /** What a client shows of it: content, tombstone, reactions (emoji → user ids, sorted). */
  readonly shown: ShownMessage;
}

export interface ShownMessage {
  readonly content: string;
  readonly deleted: boolean;
  readonly reactions: Record<string, string[]>;
}

export class TableAudit {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(endpoint: string, tableName: string) {
    this.#table = tableName;
    this.#db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    );
  }

  async messages(conversationId: string): Promise<StoredMessage[]> {
    const found: StoredMessage[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
          ExpressionAttributeValues: { ':pk': conversationPartition(conversationId), ':msg': MESSAGE_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        found.push({
          seq: Number(item.seq),
          messageId: String(item.messageId),
          senderId: String(item.senderId),
          clientMessageId: String(item.clientMessageId),
          shown: {
            content: item.deleted === true ? '' : String(item.content),
            deleted: item.deleted === true,
            reactions: reactionsOf(item),
          },
        });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }

  /** Every connection item in the table (a scan: the chaos table is small). */
  async connectionItems(): Promise<{ userId: string; connectionId: string }[]> {
    const found: { userId: string; connectionId: string }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#db.send(
        new ScanCommand({
          TableName: this.#table,
          FilterExpression: 'begins_with(SK, :conn)',
          ExpressionAttributeValues: { ':conn': CONNECTION_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        found.push({
          userId: String(item.PK).slice('USER#'.length),
          connectionId: String(item.SK).slice(CONNECTION_PREFIX.length),
        });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }

  /** The connections presence counts for a user (empty when the item is absent). */
  async presence(userId: string): Promise<string[]> {
    const { Item } = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: keys.presence(userId), ConsistentRead: true }),
    );
    const connections = Item?.connections;
    return connections instanceof Set ? [...connections].map(String) : [];
  }

  close(): void {
    this.#db.destroy();
  }
}
