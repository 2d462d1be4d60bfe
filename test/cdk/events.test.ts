/**
 * Events to the app's backend in the CDK stack (integration.md, "Events to the backend";
 * definitions/events.ts): the stack's own EventBridge bus `{stackName}-events` and its name as an
 * output; the events function, fed by an event source mapping of its own on the table's stream,
 * configured from the shared definition (filters, batches, bisecting, retries, its own on-failure
 * queue); `events:PutEvents` on that bus only, for that function only; the `eventContent` setting from
 * context; cdk-nag clean.
 */
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_STREAM } from '../../definitions/events.ts';
import { buildParley } from '../../lib/app.ts';
import { ConfigError } from '../../lib/config.ts';
import { FUNCTION_PERMISSIONS, type FunctionName } from '../../lib/permissions.ts';
import { environmentOf, propertiesOf, type Synthesized, statementsOf, synthesize } from './parley-app.ts';

type Resource = { Properties: Record<string, unknown> };

describe('events to the backend', () => {
  let parley: Synthesized;
  let mapping: Record<string, unknown>;
  beforeAll(() => {
    parley = synthesize();
    const { stack, template } = parley;
    const eventsName = JSON.stringify(stack.resolve(stack.functions.events.functionName));
    const mappings = (
      Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Resource[]
    ).filter((resource) => JSON.stringify(resource.Properties.FunctionName) === eventsName);
    expect(mappings).toHaveLength(1);
    mapping = (mappings[0] as Resource).Properties;
  });

  it('creates the bus {stackName}-events and outputs its name', () => {
    const { stack, template } = parley;
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'Parley-events' });
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasOutput('EventBusName', { Value: stack.resolve(stack.events.bus.eventBusName) });
    template.hasOutput('EventsOnFailureQueueUrl', {
      Value: stack.resolve(stack.events.onFailureQueue.queueUrl),
    });
    const named = synthesize({ stackName: 'ParleyStaging' });
    named.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'ParleyStaging-events' });
  });

  it("feeds the table's stream to the events function through a mapping of its own, beside delivery's", () => {
    const { stack, template } = parley;
    expect(Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(2);
    expect(mapping.EventSourceArn).toEqual(stack.resolve(stack.table.table.tableStreamArn));
    expect(stack.events.definition).toBe(EVENTS_STREAM);
  });

  it('batches, retries, bisects and filters as the shared definition says', () => {
    expect(mapping).toMatchObject({
      BatchSize: EVENTS_STREAM.batchSize,
      MaximumBatchingWindowInSeconds: EVENTS_STREAM.maxBatchingWindowSeconds,
      StartingPosition: EVENTS_STREAM.startingPosition,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: EVENTS_STREAM.bisectBatchOnError,
      MaximumRetryAttempts: EVENTS_STREAM.retryAttempts,
      MaximumRecordAgeInSeconds: EVENTS_STREAM.maxRecordAgeSeconds,
      ParallelizationFactor: EVENTS_STREAM.parallelizationFactor,
    });
    const filters = (mapping.FilterCriteria as { Filters: { Pattern: string }[] }).Filters;
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual(EVENTS_STREAM.filterPatterns);
    // Within what Lambda allows for a DynamoDB stream (and the stream's own 24-hour retention).
    expect(EVENTS_STREAM.maxRecordAgeSeconds).toBeLessThanOrEqual(24 * 3600);
    expect(EVENTS_STREAM.retryAttempts).toBeGreaterThan(0);
  });

  it("sends what the mapping gives up to a queue of its own, not delivery's (whose redrive replays through delivery)", () => {
    const { stack } = parley;
    const destination = (mapping.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure
      .Destination;
    expect(destination).toEqual(stack.resolve(stack.events.onFailureQueue.queueArn));
    expect(destination).not.toEqual(stack.resolve(stack.delivery.onFailureQueue.queueArn));
    const queue = propertiesOf(parley, stack.events.onFailureQueue.queueUrl);
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('gives the events function the bus name and content off, and events:PutEvents on that bus only', () => {
    const { stack } = parley;
    const fn = stack.functions.events;
    expect(environmentOf(parley, fn)).toMatchObject({
      EVENT_BUS_NAME: stack.resolve(stack.events.bus.eventBusName),
      EVENT_CONTENT: 'false',
    });
    const statements = statementsOf(parley, fn).filter((s) => s.Action.some((a) => a.startsWith('events:')));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['events:PutEvents'],
        Resource: [stack.resolve(stack.events.bus.eventBusArn)],
      },
    ]);
    expect(propertiesOf(parley, fn.functionName)).toMatchObject({ MemorySize: 256, Timeout: 60 });
  });

  it('lets no other function put events', () => {
    const { stack } = parley;
    const others = (Object.keys(FUNCTION_PERMISSIONS) as FunctionName[]).filter((name) => name !== 'events');
    for (const name of others) {
      const actions = statementsOf(parley, stack.functions[name]).flatMap((s) => s.Action);
      expect(
        actions.filter((action) => action.startsWith('events:')),
        name,
      ).toEqual([]);
      expect(environmentOf(parley, stack.functions[name]), name).not.toHaveProperty('EVENT_BUS_NAME');
    }
  });

  it('switches content on with context eventContent "true", and refuses anything but true or false', () => {
    const on = synthesize({ eventContent: 'true' });
    expect(environmentOf(on, on.stack.functions.events).EVENT_CONTENT).toBe('true');
    const off = synthesize({ eventContent: 'FALSE' });
    expect(environmentOf(off, off.stack.functions.events).EVENT_CONTENT).toBe('false');
    expect(() => synthesize({ eventContent: 'yes' })).toThrow(ConfigError);
    expect(() => synthesize({ eventContent: 'yes' })).toThrow(
      'Context "eventContent" must be "true" or "false", got "yes"',
    );
  });

  it('reports no unacknowledged cdk-nag finding, with content on', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], eventContent: 'true' } });
    const stack = buildParley(app);
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(
      report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });
});
