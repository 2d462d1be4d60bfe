/**
 * The admin command line: what it parses (and refuses, for exit 2), and its AWS mode, which reads the
 * deployed stack's outputs file and runs the operations against that table and `@connections` URL,
 * here with both clients mocked. Local mode runs end to end in test/e2e/operations.test.ts.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminUsageError, parseAdminArgs, runAdmin } from '../../../admin/admin.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);

afterEach(() => {
  ddb.reset();
  api.reset();
});

describe('admin arguments', () => {
  it('reads a command, its id and the local target with or without a URL', () => {
    expect(parseAdminArgs(['deactivate', 'zoe', '--local'], {})).toMatchObject({
      command: 'deactivate',
      id: 'zoe',
      target: { kind: 'local', url: 'http://localhost:3001', adminKey: undefined },
    });
    expect(
      parseAdminArgs(['revoke-token', 'tok-1', '--local', 'http://10.0.0.5:3001/'], {
        PARLEY_ADMIN_KEY: 'k'.repeat(16),
      }),
    ).toMatchObject({ target: { kind: 'local', url: 'http://10.0.0.5:3001', adminKey: 'k'.repeat(16) } });
  });

  it('defaults to a deployed stack described by cdk-outputs.json', () => {
    expect(parseAdminArgs(['revoke-sessions', 'max', '--by', 'ops@example'], {})).toEqual({
      command: 'revoke-sessions',
      id: 'max',
      target: { kind: 'aws', outputsFile: 'cdk-outputs.json', stack: undefined },
      by: 'ops@example',
    });
  });

  it.each([
    [[], /missing <command>/],
    [['frobnicate', 'zoe'], /unknown command "frobnicate"/],
    [['deactivate'], /missing <userId>/],
    [['revoke-token'], /missing <jti>/],
    [['deactivate', 'zoe', 'extra'], /unexpected argument "extra"/],
    [['deactivate', 'zoe', '--local', '--outputs', 'x.json'], /not both/],
    [['deactivate', 'zoe', '--frob'], /Unknown option/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseAdminArgs(argv, {})).toThrow(AdminUsageError);
    expect(() => parseAdminArgs(argv, {})).toThrow(message);
  });

  it('answers --help', () => {
    expect(parseAdminArgs(['--help'], {})).toBe('help');
  });
});

describe('admin against a deployed stack', () => {
  async function outputsFile(content: unknown): Promise<string> {
    const file = join(await mkdtemp(join(tmpdir(), 'parley-admin-')), 'cdk-outputs.json');
    await writeFile(file, JSON.stringify(content));
    return file;
  }

  it('runs the operation on the stack’s table and closes sockets through its @connections URL', async () => {
    const file = await outputsFile({
      Parley: {
        TableName: 'Parley-ChatTable-ABC123',
        ManagementApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
        WebSocketUrl: 'wss://abc123.execute-api.eu-west-1.amazonaws.com/prod',
      },
    });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(QueryCommand).resolves({
      Items: [{ PK: 'USER#zoe', SK: 'CONN#zoePhone001=', connectionId: 'zoePhone001=', connectedAt: 'x' }],
    });
    ddb.on(DeleteCommand).resolves({});
    api.on(DeleteConnectionCommand).resolves({});
    const env = { ...process.env };
    delete env.TABLE_NAME;

    const line = await runAdmin(
      {
        command: 'deactivate',
        id: 'zoe',
        target: { kind: 'aws', outputsFile: file, stack: undefined },
        by: 'ops',
      },
      process.env,
    );

    expect(line).toBe('deactivate zoe: done, 1 connection(s) closed (table Parley-ChatTable-ABC123)');
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'Parley-ChatTable-ABC123',
      Key: { PK: 'USER#zoe', SK: 'STATE' },
    });
    expect(api).toHaveReceivedCommandWith(DeleteConnectionCommand, { ConnectionId: 'zoePhone001=' });
  });

  it('says what is wrong with the outputs file', async () => {
    const run = (file: string, stack?: string) =>
      runAdmin({
        command: 'reactivate',
        id: 'zoe',
        target: { kind: 'aws', outputsFile: file, stack },
        by: 'ops',
      });

    await expect(run('/nonexistent/cdk-outputs.json')).rejects.toThrow(/cannot read .*--outputs-file/);
    await expect(run(await outputsFile({ A: {}, B: {} }))).rejects.toThrow(
      /stacks A, B: choose one with --stack/,
    );
    await expect(run(await outputsFile({ Other: { Url: 'x' } }))).rejects.toThrow(/lacks TableName/);
  });
});
