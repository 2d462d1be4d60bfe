/**
 * (1.2) The admin tool's `reports` and `resolve`: their arguments (and the mistakes that exit 2), the
 * table they print, and their AWS mode, which reads the deployed stack's outputs file and runs the
 * report queue's domain functions on that table, here with DynamoDB mocked: a Query of the `reports`
 * index, a Query of each report's copies, one conditional UpdateItem to resolve. Local mode runs end
 * to end in test/e2e/reports.test.ts.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminUsageError, parseAdminArgs, runAdmin } from '../../../admin/admin.ts';
import { formatReports } from '../../../admin/report-commands.ts';
import type { ReportView } from '../../../functions/domain/report-queue.ts';

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());

const REPORT_ID = `rp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6'}`;
const LOCAL = { kind: 'local', url: 'http://localhost:3001', adminKey: undefined };

describe('report commands’ arguments', () => {
  it('reads reports with its defaults, and its status, limit and --json', () => {
    expect(parseAdminArgs(['reports', '--local'], {})).toEqual({
      command: 'reports',
      target: LOCAL,
      status: 'open',
      limit: 100,
      json: false,
    });
    expect(parseAdminArgs(['reports', '--status', 'resolved', '--limit', '5', '--json'], {})).toEqual({
      command: 'reports',
      target: { kind: 'aws', outputsFile: 'cdk-outputs.json', stack: undefined },
      status: 'resolved',
      limit: 5,
      json: true,
    });
  });

  it('reads resolve with its id, note (trimmed) and who asks', () => {
    expect(
      parseAdminArgs(['resolve', REPORT_ID, '--note', '  warned  ', '--by', 'mod', '--local'], {}),
    ).toEqual({
      command: 'resolve',
      target: LOCAL,
      reportId: REPORT_ID,
      note: 'warned',
      by: 'mod',
      json: false,
    });
  });

  it.each([
    [['reports', 'extra'], /unexpected argument "extra"/],
    [['reports', '--status', 'closed'], /--status must be open or resolved/],
    [['reports', '--limit', '0'], /--limit must be a whole number from 1 to 1000/],
    [['reports', '--limit', '1001'], /--limit must be a whole number from 1 to 1000/],
    [['reports', '--note', 'x'], /--note is for resolve/],
    [['reports', '--dry-run'], /--dry-run is for redrive/],
    [['resolve'], /missing <reportId>/],
    [['resolve', 'REPORT#1'], /not a report id/],
    [['resolve', REPORT_ID, 'extra'], /unexpected argument "extra"/],
    [['resolve', REPORT_ID, '--status', 'open'], /--status is for reports/],
    [['resolve', REPORT_ID, '--note', 'x'.repeat(1001)], /--note: at most 1000 characters/],
    [['deactivate', 'zoe', '--status', 'open'], /--status is for reports and resolve/],
    [['failures', '--note', 'x'], /--note is for reports and resolve/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseAdminArgs(argv, {})).toThrow(AdminUsageError);
    expect(() => parseAdminArgs(argv, {})).toThrow(message);
  });
});

const report = (fields: Partial<ReportView>): ReportView => ({
  reportId: REPORT_ID,
  reporterId: 'mia',
  conversationId: 'dm_abc',
  reason: 'harassment',
  reportedAt: '2026-11-23T10:30:05.200Z',
  status: 'open',
  messageCount: 1,
  messages: [],
  ...fields,
});

describe('the reports table', () => {
  it('prints one aligned line per report: the message quoted on one line, or the conversation', () => {
    const text = formatReports(
      {
        reports: [
          report({
            seq: 4,
            note: 'asks for\nmy address',
            messages: [
              {
                conversationId: 'dm_abc',
                seq: 4,
                messageId: 'm4',
                senderId: 'noa',
                content: 'where do you live?\nTell me',
                createdAt: 'x',
                clientMessageId: 'c4',
              },
            ],
          }),
          report({
            reportId: `rp_${'z'.repeat(32)}`,
            reason: 'spam',
            conversationId: 'grp_1',
            messageCount: 50,
          }),
        ],
        more: true,
      },
      {
        command: 'reports',
        target: { kind: 'local', url: 'x', adminKey: undefined },
        status: 'open',
        limit: 2,
        json: false,
      },
    );

    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^REPORTED AT +REPORT +REASON +REPORTER +CONVERSATION +REPORTED +NOTE$/);
    expect(lines[1]).toContain(`${REPORT_ID}  harassment  mia`);
    expect(lines[1]).toContain('seq 4, noa: "where do you live?\\nTell me"');
    expect(lines[1]?.endsWith('"asks for\\nmy address"')).toBe(true);
    expect(lines[2]).toContain('conversation, 50 messages copied');
    expect(lines[2]?.endsWith('-')).toBe(true);
    // Columns line up: every line has its REASON at the same place.
    expect(lines[1]?.indexOf('harassment')).toBe(lines[0]?.indexOf('REASON'));
    expect(lines[2]?.indexOf('spam')).toBe(lines[0]?.indexOf('REASON'));
    expect(lines[3]).toBe(
      '2 open reports (--limit 2 reached: there are more); --json shows the copied messages',
    );
  });

  it('says when there are none', () => {
    expect(
      formatReports(
        { reports: [], more: false },
        {
          command: 'reports',
          target: { kind: 'local', url: 'x', adminKey: undefined },
          status: 'resolved',
          limit: 100,
          json: false,
        },
      ),
    ).toBe('no resolved reports');
  });
});

describe('report commands against a deployed stack', () => {
  async function outputsFile(): Promise<string> {
    const file = join(await mkdtemp(join(tmpdir(), 'parley-admin-')), 'cdk-outputs.json');
    await writeFile(
      file,
      JSON.stringify({
        Parley: { TableName: 'Parley-ChatTable-XYZ', Region: 'eu-west-1', ManagementApiUrl: 'x' },
      }),
    );
    return file;
  }

  it('lists from the reports index of the stack’s table, with each report’s copies', async () => {
    const file = await outputsFile();
    ddb.on(QueryCommand, { IndexName: 'reports' }).resolves({
      Items: [
        {
          reportId: REPORT_ID,
          reporterId: 'mia',
          conversationId: 'dm_abc',
          seq: 4,
          reason: 'scam',
          reportedAt: '2026-11-23T10:30:05.200Z',
          reportStatus: 'open',
          messageCount: 1,
        },
      ],
    });
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': `REPORT#${REPORT_ID}`, ':msg': 'MSG#' } })
      .resolves({
        Items: [{ message: { seq: 4, senderId: 'noa', content: 'cheap watches', conversationId: 'dm_abc' } }],
      });

    const text = await runAdmin(
      {
        command: 'reports',
        target: { kind: 'aws', outputsFile: file, stack: undefined },
        status: 'open',
        limit: 10,
        json: true,
      },
      process.env,
    );

    expect(JSON.parse(text)).toEqual([
      expect.objectContaining({
        reportId: REPORT_ID,
        reason: 'scam',
        status: 'open',
        messages: [expect.objectContaining({ content: 'cheap watches' })],
      }),
    ]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'Parley-ChatTable-XYZ',
      IndexName: 'reports',
      KeyConditionExpression: 'reportStatus = :status',
      ExpressionAttributeValues: { ':status': 'open' },
      ScanIndexForward: false,
      Limit: 10,
    });
  });

  it('resolves with one conditional update, and says when it was resolved already or does not exist', async () => {
    const file = await outputsFile();
    const target = { kind: 'aws', outputsFile: file, stack: undefined } as const;
    const resolve = () =>
      runAdmin(
        { command: 'resolve', target, reportId: REPORT_ID, note: 'warned', by: 'mod-1', json: false },
        process.env,
      );
    const failed = (item?: Record<string, unknown>) =>
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        ...(item && { Item: marshall(item) }),
      });
    ddb
      .on(UpdateCommand)
      .resolvesOnce({
        Attributes: {
          reportId: REPORT_ID,
          reportStatus: 'resolved',
          resolvedAt: '2026-11-24T09:00:00.000Z',
          resolvedBy: 'mod-1',
        },
      })
      // Resolved before (by someone else): the failed condition returns the item as it is.
      .rejectsOnce(
        failed({
          reportId: REPORT_ID,
          reportStatus: 'resolved',
          resolvedAt: '2026-11-24T08:00:00.000Z',
          resolvedBy: 'mod-0',
        }),
      )
      // No such item: the failed condition returns nothing.
      .rejectsOnce(failed());

    expect(await resolve()).toBe(`resolve ${REPORT_ID}: resolved at 2026-11-24T09:00:00.000Z by mod-1`);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'Parley-ChatTable-XYZ',
      Key: { PK: `REPORT#${REPORT_ID}`, SK: 'REPORT' },
      UpdateExpression:
        'SET reportStatus = :resolved, resolvedAt = :at, resolvedBy = :by, resolutionNote = :note',
      ConditionExpression: 'attribute_exists(PK) AND reportStatus = :open',
      ExpressionAttributeValues: {
        ':resolved': 'resolved',
        ':open': 'open',
        ':at': expect.any(String),
        ':by': 'mod-1',
        ':note': 'warned',
      },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });

    expect(await resolve()).toBe(
      `resolve ${REPORT_ID}: already resolved at 2026-11-24T08:00:00.000Z by mod-0, left as it was`,
    );

    await expect(resolve()).rejects.toThrow(`resolve ${REPORT_ID}: no such report`);
  });
});
