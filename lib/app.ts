/**
 * Builds the Parley app: the stack, with cdk-nag's AwsSolutions checks applied to everything in it.
 * bin/parley.ts (what `cdk synth` runs) and the tests build the app the same way.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ParleyStack, type ParleyStackProps } from './parley-stack.ts';

export const DEFAULT_STACK_NAME = 'Parley';

export function buildParley(app: App, props: ParleyStackProps = {}): ParleyStack {
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? DEFAULT_STACK_NAME;
  const stack = new ParleyStack(app, stackName, {
    description: 'Parley: real-time chat over API Gateway WebSockets, Lambda, DynamoDB and SNS mobile push',
    ...props,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
