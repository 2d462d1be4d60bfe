import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FANOUT_SETTINGS } from '../../definitions/fanout.ts';
import { RATE_LIMIT_SETTINGS, RATE_LIMITED_ACTIONS } from '../../definitions/rate-limits.ts';
import { ROUTES } from '../../definitions/routes.ts';
import { DELIVERY_STREAM } from '../../definitions/stream.ts';
import { ConfigError } from '../../lib/config.ts';
import { environmentOf, type Synthesized, statementsOf, synthesize } from './parley-app.ts';

describe('delivery from the table stream', () => {
  // GIVEN the synthesized stack
  let parley: Synthesized;
  let mapping: Record<string, unknown>;
  beforeAll(() => {
    parley = synthesize();
    // Delivery's mapping; the events consumer has its own (test/cdk/events.test.ts).
    const deliveryName = JSON.stringify(parley.stack.resolve(parley.stack.functions.delivery.functionName));
    const mappings = Object.values(parley.template.findResources('AWS::Lambda::EventSourceMapping')).filter(
      (resource) =>
        JSON.stringify((resource as { Properties: { FunctionName: unknown } }).Properties.FunctionName) ===
        deliveryName,
    );
    expect(mappings).toHaveLength(1);
    mapping = (mappings[0] as { Properties: Record<string, unknown> }).Properties;
  });

  it('feeds the table stream to the delivery function', () => {
    const { stack } = parley;
    expect(mapping.EventSourceArn).toEqual(stack.resolve(stack.table.table.tableStreamArn));
    expect(mapping.FunctionName).toEqual(stack.resolve(stack.functions.delivery.functionName));
  });

  it('batches, retries, bisects and ages out records as the shared stream definition says', () => {
    expect(mapping).toMatchObject({
      BatchSize: DELIVERY_STREAM.batchSize,
      MaximumBatchingWindowInSeconds: DELIVERY_STREAM.maxBatchingWindowSeconds,
      StartingPosition: DELIVERY_STREAM.startingPosition,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: DELIVERY_STREAM.bisectBatchOnError,
      MaximumRetryAttempts: DELIVERY_STREAM.retryAttempts,
      MaximumRecordAgeInSeconds: DELIVERY_STREAM.maxRecordAgeSeconds,
      ParallelizationFactor: DELIVERY_STREAM.parallelizationFactor,
    });
    // Bounded: a poison record cannot block its shard for the stream's whole 24-hour retention.
    expect(DELIVERY_STREAM.retryAttempts).toBeGreaterThan(0);
    // The handler gives up (recording the message's identity) before the mapping would (a pointer).
    expect(DELIVERY_STREAM.deliveryAttempts).toBeGreaterThan(0);
    expect(DELIVERY_STREAM.deliveryAttempts).toBeLessThan(DELIVERY_STREAM.retryAttempts);
    expect(DELIVERY_STREAM.maxRecordAgeSeconds).toBeLessThan(24 * 3600);
    expect(DELIVERY_STREAM.reportBatchItemFailures).toBe(true);
  });

  it('invokes the function only for the records it handles', () => {
    const filters = (mapping.FilterCriteria as { Filters: { Pattern: string }[] }).Filters;
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual(DELIVERY_STREAM.filterPatterns);
    // New messages and conversations, member items whose read cursor markRead moved (not delivery's own
    // bookkeeping, nor the read a send or a hide implies), that a leave hid or removed (`left`) or whose
    // message request acceptRequest accepted (presence, 1.2), groups a member left, edited, deleted or
    // reacted-to messages, connection items put or removed (presence), and connections to close.
    expect(DELIVERY_STREAM.filterPatterns).toEqual([
      { eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['message', 'conversation'] } } } },
      {
        eventName: ['MODIFY'],
        dynamodb: { NewImage: { type: { S: ['member'] }, changedBy: { S: ['read', 'leave', 'accept'] } } },
      },
      { eventName: ['REMOVE'], dynamodb: { OldImage: { type: { S: ['member'] } } } },
      {
        eventName: ['MODIFY'],
        dynamodb: { NewImage: { type: { S: ['conversation'] }, changedBy: { S: ['leave'] } } },
      },
      { eventName: ['MODIFY'], dynamodb: { NewImage: { type: { S: ['message'] } } } },
      { eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['connection'] } } } },
      { eventName: ['REMOVE'], dynamodb: { OldImage: { type: { S: ['connection'] } } } },
      {
        eventName: ['MODIFY'],
        dynamodb: { NewImage: { type: { S: ['connection'] }, closeRequested: { S: ['token_expired'] } } },
      },
    ]);
  });

  it('sends records that exhaust their retries to an encrypted, TLS-only SQS queue', () => {
    const { stack, template } = parley;
    const queue = stack.delivery.onFailureQueue;
    expect(mapping.DestinationConfig).toEqual({ OnFailure: { Destination: stack.resolve(queue.queueArn) } });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const policy = JSON.stringify(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policy).toContain('"aws:SecureTransport":"false"');
    expect(policy).toContain('"Effect":"Deny"');
  });

  it('lets the delivery function read the stream and write to the queue, and nothing broader', () => {
    const { stack } = parley;
    const statements = statementsOf(parley, stack.functions.delivery);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      Resource: [stack.resolve(stack.table.table.tableStreamArn)],
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Resource: [stack.resolve(stack.delivery.onFailureQueue.queueArn)],
    });
  });

  it('feeds what the delivery function gives up on, by message identity, into the same queue', () => {
    const { stack, template } = parley;
    const topic = stack.delivery.failureTopic;
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: stack.resolve(topic.topicArn),
      Endpoint: stack.resolve(stack.delivery.onFailureQueue.queueArn),
      RawMessageDelivery: true,
    });
    expect(environmentOf(parley, stack.functions.delivery).DELIVERY_FAILURE_TOPIC_ARN).toEqual(
      stack.resolve(topic.topicArn),
    );
    expect(statementsOf(parley, stack.functions.delivery)).toContainEqual({
      Effect: 'Allow',
      Action: ['sns:Publish'],
      Resource: [stack.resolve(topic.topicArn)],
    });
    // No other function may publish there.
    for (const [name, fn] of Object.entries(stack.functions)) {
      if (name === 'delivery') continue;
      expect(environmentOf(parley, fn), name).not.toHaveProperty('DELIVERY_FAILURE_TOPIC_ARN');
    }
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      }),
    });
  });

  it('gives every function that fans out to connections the per-user caps, defaults or from context', () => {
    const defaults = Object.fromEntries(
      Object.values(FANOUT_SETTINGS).map((setting) => [setting.env, String(setting.default)]),
    );
    for (const name of ['delivery', 'typing'] as const) {
      expect(environmentOf(parley, parley.stack.functions[name]), name).toMatchObject(defaults);
    }
    expect(environmentOf(parley, parley.stack.functions['send-message'])).not.toHaveProperty(
      FANOUT_SETTINGS.maxConnectionsPerUser.env,
    );

    const configured = synthesize({
      maxConnectionsPerUser: '5',
      maxDevicesPerUser: '3',
      fanoutParallelism: '8',
    });
    expect(environmentOf(configured, configured.stack.functions.delivery)).toMatchObject({
      MAX_CONNECTIONS_PER_USER: '5',
      MAX_DEVICES_PER_USER: '3',
      FANOUT_PARALLELISM: '8',
    });
    expect(() => synthesize({ maxConnectionsPerUser: '0' })).toThrow(ConfigError);
    expect(() => synthesize({ fanoutParallelism: 'many' })).toThrow(ConfigError);
  });

  it('gives every rate-limited route its limits and the upload quota, defaults or from context', () => {
    const defaults = Object.fromEntries(
      Object.values(RATE_LIMIT_SETTINGS).map((setting) => [setting.env, String(setting.default)]),
    );
    expect(defaults).toEqual({
      SEND_RATE_PER_SECOND: '10',
      SEND_BURST: '10',
      TYPING_RATE_PER_SECOND: '2',
      TYPING_BURST: '6',
      READ_RATE_PER_MINUTE: '120',
      READ_BURST: '30',
      CHANGE_RATE_PER_MINUTE: '60',
      CHANGE_BURST: '20',
      CONVERSATION_RATE_PER_MINUTE: '3',
      CONVERSATION_BURST: '5',
      MEMBERSHIP_RATE_PER_MINUTE: '20',
      MEMBERSHIP_BURST: '20',
      REPORT_RATE_PER_MINUTE: '2',
      REPORT_BURST: '10',
      UPLOAD_RATE_PER_MINUTE: '30',
      UPLOAD_BURST: '20',
      DEVICE_RATE_PER_MINUTE: '10',
      DEVICE_BURST: '10',
      UPLOAD_MIB_PER_DAY: '1024',
    });
    // Every route whose action is limited (definitions/rate-limits.ts), and the server API, and only
    // those, get them.
    const limited = new Set(
      ROUTES.filter((route) => route.routeKey in RATE_LIMITED_ACTIONS).map((route) => route.handler),
    );
    expect([...limited].sort()).toEqual(
      expect.arrayContaining([
        'create-conversation',
        'delete-message',
        'edit-message',
        'leave-conversation',
        'mark-read',
        'react',
        'register-device',
        'request-upload',
        'send-message',
        'typing',
        'unregister-device',
      ]),
    );
    for (const [name, fn] of Object.entries(parley.stack.functions)) {
      const environment = environmentOf(parley, fn);
      // The server API acts for users under the same limits.
      if (limited.has(name as (typeof ROUTES)[number]['handler']) || name === 'server-api') {
        expect(environment, name).toMatchObject(defaults);
      } else {
        expect(environment, name).not.toHaveProperty('SEND_RATE_PER_SECOND');
        expect(environment, name).not.toHaveProperty('UPLOAD_MIB_PER_DAY');
      }
    }

    const configured = synthesize({
      sendRatePerSecond: '20',
      sendBurst: '40',
      typingBurst: '4',
      readRatePerMinute: '600',
      uploadMiBPerDay: '50',
    });
    expect(environmentOf(configured, configured.stack.functions['send-message'])).toMatchObject({
      SEND_RATE_PER_SECOND: '20',
      SEND_BURST: '40',
      TYPING_BURST: '4',
    });
    expect(environmentOf(configured, configured.stack.functions['mark-read'])).toMatchObject({
      READ_RATE_PER_MINUTE: '600',
      READ_BURST: '30',
    });
    expect(environmentOf(configured, configured.stack.functions['request-upload'])).toMatchObject({
      UPLOAD_MIB_PER_DAY: '50',
    });
    expect(() => synthesize({ sendRatePerSecond: '0' })).toThrow(ConfigError);
    expect(() => synthesize({ typingBurst: 'lots' })).toThrow(ConfigError);
    // Each in its own range: a minute's rate may pass 1000; the quota holds at least one 25 MiB upload.
    const fast = synthesize({ readRatePerMinute: '6000' });
    expect(environmentOf(fast, fast.stack.functions['mark-read'])).toMatchObject({
      READ_RATE_PER_MINUTE: '6000',
    });
    expect(() => synthesize({ readRatePerMinute: '60001' })).toThrow(ConfigError);
    expect(() => synthesize({ uploadMiBPerDay: '24' })).toThrow(/from 25 to 1048576/);
  });

  it('outputs the on-failure queue and the delivery function for operators (admin failures, redrive)', () => {
    parley.template.hasOutput('OnFailureQueueUrl', {
      Value: parley.stack.resolve(parley.stack.delivery.onFailureQueue.queueUrl),
    });
    parley.template.hasOutput('DeliveryFunctionName', {
      Value: parley.stack.resolve(parley.stack.functions.delivery.functionName),
    });
  });
});
