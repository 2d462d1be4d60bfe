/**
 * lib/permissions.ts must say what the handlers actually do: a call without its grant fails in
 * production with AccessDenied, a grant without a call is privilege nobody needs. Each handler is
 * bundled the way the stack bundles it (tree-shaken, so only reachable code counts, but not minified)
 * and the AWS SDK commands constructed in the project's own code are mapped to IAM actions.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_MODULES } from '../../definitions/handlers.ts';
import { FUNCTION_PERMISSIONS, type FunctionName, type FunctionPermissions } from '../../lib/permissions.ts';
import { environmentOf, type Synthesized, synthesize } from './parley-app.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** lib-dynamodb and client-dynamodb command names → the IAM action AWS checks. */
const DYNAMODB: Record<string, string> = {
  Get: 'GetItem',
  GetItem: 'GetItem',
  Put: 'PutItem',
  PutItem: 'PutItem',
  Update: 'UpdateItem',
  UpdateItem: 'UpdateItem',
  Delete: 'DeleteItem',
  DeleteItem: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchGetItem: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  BatchWriteItem: 'BatchWriteItem',
  TransactGet: 'GetItem',
  TransactGetItems: 'GetItem',
};
/** TransactWriteItems has no IAM action: each item's own action is checked. */
const TRANSACT_ITEMS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
};
const MANAGEMENT_API = ['PostToConnection', 'DeleteConnection', 'GetConnection'];
/** Lambda's Invoke: only the send hook's (functions/adapters/send-hook.ts). */
const LAMBDA = ['Invoke'];
/** EventBridge's PutEvents: only the events function's (functions/adapters/event-bus.ts). */
const EVENTBRIDGE = ['PutEvents'];
const SNS = [
  'CreatePlatformEndpoint',
  'SetEndpointAttributes',
  'GetEndpointAttributes',
  'DeleteEndpoint',
  'Publish',
];

interface Used {
  /** Variables read with `requiredEnv`: the module throws at cold start without them. */
  requiredEnv: string[];
  table: string[];
  queriesIndex: boolean;
  postToConnections: boolean;
  push: string[];
  sendsToQueue: boolean;
  /** Invokes a Lambda function: the send hook. */
  invokesSendHook: boolean;
  /** Puts events on the stack's bus. */
  putsEvents: boolean;
  /** Requests to the attachments bucket, by the presigning helpers of functions/shared/clients/s3.ts. */
  attachments: string[];
  unknown: string[];
}

/** The helpers of functions/shared/clients/s3.ts → the access lib/permissions.ts names. */
const ATTACHMENT_CALLS: Record<string, string> = {
  presignUpload: 'signUploads',
  headAttachment: 'attachUploads',
  copyAttachment: 'attachUploads',
  presignDownload: 'signDownloads',
  deleteAttachment: 'deleteAttachments',
};

/** A call of one of those helpers (esbuild drops the ones a handler never calls, definitions included). */
const ATTACHMENT_CALL = new RegExp(`\\b(${Object.keys(ATTACHMENT_CALLS).join('|')})\\(`, 'g');

async function usedBy(entry: string): Promise<Used> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text ?? '';
  // esbuild marks where each input file's code starts; keep the project's own handler code.
  const ours = code.split(/\n(?=\/\/ )/).filter((section) => section.startsWith('// functions/'));
  const table = new Set<string>();
  const push = new Set<string>();
  const unknown = new Set<string>();
  const requiredEnv = new Set<string>();
  let postToConnections = false;
  let invokesSendHook = false;
  let putsEvents = false;
  let queriesIndex = false;
  const attachments = new Set<string>();
  for (const section of ours) {
    for (const [, call = ''] of section.matchAll(ATTACHMENT_CALL)) {
      attachments.add(ATTACHMENT_CALLS[call] as string);
    }
    for (const [, name = ''] of section.matchAll(/new (\w+?)Command\d*\(/g)) {
      if (name === 'TransactWrite' || name === 'TransactWriteItems') {
        for (const [, kind = ''] of section.matchAll(/\b(Put|Update|Delete|ConditionCheck)\s*:/g)) {
          table.add(TRANSACT_ITEMS[kind] as string);
        }
      } else if (DYNAMODB[name]) table.add(DYNAMODB[name]);
      else if (MANAGEMENT_API.includes(name)) postToConnections = true;
      else if (SNS.includes(name)) push.add(name);
      else if (LAMBDA.includes(name)) invokesSendHook = true;
      else if (EVENTBRIDGE.includes(name)) putsEvents = true;
      else unknown.add(name);
    }
    if (/IndexName\s*:/.test(section)) queriesIndex = true;
    for (const [, variable = ''] of section.matchAll(/requiredEnv\(\s*["']([A-Z0-9_]+)["']\s*\)/g)) {
      requiredEnv.add(variable);
    }
  }
  return {
    requiredEnv: [...requiredEnv].sort(),
    table: [...table].sort(),
    queriesIndex,
    postToConnections,
    push: [...push].sort(),
    // SNS Publish serves pushes and the failure topic alike: the topic's variable tells them apart.
    sendsToQueue: requiredEnv.has('DELIVERY_FAILURE_TOPIC_ARN'),
    invokesSendHook,
    putsEvents,
    attachments: [...attachments].sort(),
    unknown: [...unknown],
  };
}

describe('permissions match what each handler sends', () => {
  const used = new Map<FunctionName, Used>();
  let parley: Synthesized;
  beforeAll(async () => {
    parley = synthesize({
      pushAppArnApns: 'arn:aws:sns:eu-west-1:123456789012:app/APNS/parley',
      jwtIssuer: 'https://issuer.example',
      jwtAudience: 'parley',
    });
    for (const [name, entry] of Object.entries(HANDLER_MODULES) as [FunctionName, string][]) {
      used.set(name, await usedBy(entry));
    }
  });

  it('reads the handlers it checks (typing sends, posts and requires its configuration)', () => {
    expect(used.get('typing')).toMatchObject({
      requiredEnv: expect.arrayContaining(['TABLE_NAME', 'WS_CALLBACK_URL']),
      table: expect.arrayContaining(['Query']),
      postToConnections: true,
    });
  });

  it('covers every function the stack deploys', () => {
    expect(Object.keys(HANDLER_MODULES).sort()).toEqual(Object.keys(FUNCTION_PERMISSIONS).sort());
  });

  it.each(Object.keys(HANDLER_MODULES) as FunctionName[])('%s', (name) => {
    // GIVEN what lib/permissions.ts grants
    const granted: FunctionPermissions = FUNCTION_PERMISSIONS[name];
    // WHEN compared with the AWS calls in the handler's reachable code
    const actual = used.get(name);
    // THEN they are the same, call for call
    expect(actual?.unknown, 'AWS commands this test cannot map to IAM actions').toEqual([]);
    expect(actual?.table, 'DynamoDB actions').toEqual([...granted.table].sort());
    expect(actual?.queriesIndex, 'queries an index').toBe((granted.indexes ?? []).length > 0);
    expect(actual?.postToConnections, 'posts to connections').toBe(granted.postToConnections === true);
    expect(actual?.push, 'SNS actions').toEqual([...(granted.push ?? [])].sort());
    expect(actual?.sendsToQueue, 'publishes to the delivery failure topic').toBe(
      granted.failureQueue === true,
    );
    expect(actual?.attachments, 'attachment bucket access').toEqual([...(granted.attachments ?? [])].sort());
    expect(actual?.invokesSendHook, 'invokes the send hook').toBe(granted.sendHook === true);
    expect(actual?.putsEvents, 'puts events on the bus').toBe(granted.events === true);
  });

  it.each(
    Object.keys(HANDLER_MODULES) as FunctionName[],
  )('%s gets every variable it requires at cold start', (name) => {
    const environment = environmentOf(parley, parley.stack.functions[name]);
    // AWS_* variables (region, session token) come from the Lambda runtime itself.
    const required = used.get(name)?.requiredEnv ?? [];
    const missing = required.filter((variable) => !variable.startsWith('AWS_') && !(variable in environment));
    expect(missing).toEqual([]);
  });
});
