import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE } from '../../definitions/table.ts';
import { type Synthesized, synthesize } from './parley-app.ts';

type TableResource = {
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

describe('the table', () => {
  // GIVEN the app as `cdk deploy` builds it
  let parley: Synthesized;
  let table: TableResource;
  beforeAll(() => {
    parley = synthesize();
    const tables = Object.values(parley.template.findResources('AWS::DynamoDB::Table')) as TableResource[];
    expect(tables).toHaveLength(1);
    table = tables[0] as TableResource;
  });

  it('bills on demand and expires items by the shared TTL attribute', () => {
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: TABLE.timeToLiveAttribute, Enabled: true },
    });
    expect(TABLE.timeToLiveAttribute).toBe('expiresAt');
  });

  it('streams both images, which the delivery Lambda compares', () => {
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('outlives the stack: retained, deletion-protected, point-in-time recoverable, encrypted', () => {
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('has no hard-coded name', () => {
    expect(table.Properties.TableName).toBeUndefined();
  });

  it('has the keys and the sparse unread index of the shared definition', () => {
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey.name, KeyType: 'RANGE' },
    ]);
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(
      TABLE.globalIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] },
      })),
    );
  });

  it('has the sparse changes index on the conversation partition, read consistently by sync', () => {
    expect(table.Properties.LocalSecondaryIndexes).toEqual([
      {
        IndexName: 'changes',
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'version', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(table.Properties.AttributeDefinitions).toContainEqual({
      AttributeName: 'version',
      AttributeType: 'N',
    });
  });

  it('outputs its name for the admin tool', () => {
    parley.template.hasOutput('TableName', { Value: parley.stack.resolve(parley.stack.table.tableName) });
  });
});
