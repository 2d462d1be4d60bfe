/**
 * The one DynamoDB table, built from definitions/table.ts (the object the local stack reads too).
 * It holds every user's data, so it outlives the stack: retained on delete, protected against
 * deletion, recoverable to any second of the last 35 days.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { type KeyAttribute, TABLE, type TableDefinition } from '../../definitions/table.ts';
import type { DynamoAction } from '../permissions.ts';

export interface ChatTableProps {
  /** @default TABLE from definitions/table.ts */
  readonly definition?: TableDefinition;
}

export class ChatTable extends Construct {
  /** The definition this table was built from (the tests check it is the shared object). */
  readonly definition: TableDefinition;
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ChatTableProps = {}) {
    super(scope, id);
    this.definition = props.definition ?? TABLE;
    const definition = this.definition;

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: attribute(definition.partitionKey),
      sortKey: attribute(definition.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: definition.timeToLiveAttribute,
      stream: dynamodb.StreamViewType[definition.streamView],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
    });
    for (const index of definition.globalIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey && { sortKey: attribute(index.sortKey) }),
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.include],
      });
    }
    for (const index of definition.localIndexes) {
      this.table.addLocalSecondaryIndex({
        indexName: index.indexName,
        sortKey: attribute(index.sortKey),
        projectionType: dynamodb.ProjectionType[index.projection],
      });
    }
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /**
   * Grants exactly `actions` on the table. (`Table.grant` would add every index of the table too;
   * most functions query none.)
   */
  grantActions(grantee: iam.IGrantable, actions: readonly DynamoAction[]): void {
    if (actions.length === 0) return;
    iam.Grant.addToPrincipal({
      grantee,
      actions: actions.map((action) => `dynamodb:${action}`),
      resourceArns: [this.table.tableArn],
    });
  }

  /** Grants Query, the only action an index serves, on the named indexes. */
  grantIndexQuery(grantee: iam.IGrantable, indexes: readonly string[]): void {
    if (indexes.length === 0) return;
    const known = new Set(
      [...this.definition.globalIndexes, ...this.definition.localIndexes].map((index) => index.indexName),
    );
    for (const index of indexes) {
      if (!known.has(index)) throw new Error(`Table has no index "${index}"`);
    }
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: indexes.map((index) => `${this.table.tableArn}/index/${index}`),
    });
  }
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return {
    name: key.name,
    type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
  };
}
