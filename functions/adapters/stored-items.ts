/**
 * One item as the table holds it now, by key, strongly consistent: what a redrive rebuilds a stream
 * record from (admin/redrive.ts). The client and table are passed in: the local stack gives
 * the handlers' own, the operators' tool its own with the deployed table's name.
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ItemKey } from './keys.ts';

export type ItemReader = (key: ItemKey) => Promise<Record<string, unknown> | undefined>;

export function itemReader(client: DynamoDBDocumentClient, tableName: string): ItemReader {
  return async (key) => {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  };
}
