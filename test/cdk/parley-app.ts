/**
 * Builds the Parley app the way bin/parley.ts does, with the given context, and reads what the tests
 * assert on. Bundling is skipped here with CDK's own `aws:cdk:bundling-stacks` context (the template
 * is the same; only the asset contents differ): synth.test.ts runs the real entry point, which
 * bundles every handler with esbuild.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildParley } from '../../lib/app.ts';
import type { ParleyStack } from '../../lib/parley-stack.ts';

export interface Synthesized {
  readonly stack: ParleyStack;
  readonly template: Template;
}

export function synthesize(context: Record<string, string> = {}): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = buildParley(app);
  return { stack, template: Template.fromStack(stack) };
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: unknown[];
}

/** Every statement of the policies attached to `fn`'s role, with Action and Resource as arrays. */
export function statementsOf({ stack, template }: Synthesized, fn: lambda.IFunction): Statement[] {
  if (fn.role === undefined) throw new Error(`${fn.node.path} has no role`);
  const roleRef = stack.resolve(fn.role.roleName) as unknown;
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } };
  }[];
  return policies
    .filter((policy) =>
      policy.Properties.Roles.some((role) => JSON.stringify(role) === JSON.stringify(roleRef)),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .map((statement) => ({
      Effect: statement.Effect as string,
      Action: ([] as string[]).concat(statement.Action as string | string[]),
      Resource: ([] as unknown[]).concat(statement.Resource),
    }));
}

/** The actions of `fn`'s statements whose action starts with `prefix` (`dynamodb:`, `sns:`...). */
export function actionsOf(statements: readonly Statement[], prefix: string): string[] {
  return [...new Set(statements.flatMap((s) => s.Action).filter((a) => a.startsWith(prefix)))].sort();
}

/** The template's properties of the resource a construct's default child (or a Ref to it) names. */
export function propertiesOf({ stack, template }: Synthesized, ref: unknown): Record<string, unknown> {
  const logicalId = (stack.resolve(ref) as { Ref?: string }).Ref;
  if (logicalId === undefined) throw new Error(`Not a Ref: ${JSON.stringify(stack.resolve(ref))}`);
  return (template.toJSON().Resources[logicalId] as { Properties: Record<string, unknown> }).Properties;
}

/** The environment variables of `fn` as CloudFormation has them (tokens resolved to intrinsics). */
export function environmentOf(synthesized: Synthesized, fn: lambda.IFunction): Record<string, unknown> {
  const properties = propertiesOf(synthesized, fn.functionName) as {
    Environment?: { Variables?: Record<string, unknown> };
  };
  return properties.Environment?.Variables ?? {};
}

export const PUSH_CONTEXT = {
  pushAppArnApns: 'arn:aws:sns:eu-west-1:123456789012:app/APNS/parley',
  pushAppArnApnsSandbox: 'arn:aws:sns:eu-west-1:123456789012:app/APNS_SANDBOX/parley-dev',
  pushAppArnFcm: 'arn:aws:sns:eu-west-1:123456789012:app/GCM/parley',
} as const;
