/**
 * The contact policy in the CDK stack (protocol.md 1.2, "Who may talk to whom"): the `contactPolicy`
 * prop, or context `contactPolicy`, reaches the functions that apply it (a first message starts a
 * request; a group is made of accepted contacts), and no other; `open` when neither gives it. A typo
 * fails at synth, as does giving it twice.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContactPolicy } from '../../definitions/contact-policy.ts';
import { buildParley } from '../../lib/app.ts';
import { FUNCTION_PERMISSIONS, type FunctionName } from '../../lib/permissions.ts';
import { environmentOf, type Synthesized, synthesize } from './parley-app.ts';

const NAMES = Object.keys(FUNCTION_PERMISSIONS) as FunctionName[];
// The server API creates conversations and sends messages too (integration.md).
const APPLYING: FunctionName[] = ['send-message', 'create-conversation', 'server-api'];
const OTHERS = NAMES.filter((name) => !APPLYING.includes(name));

function withProp(contactPolicy: ContactPolicy, context: Record<string, string> = {}): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = buildParley(app, { contactPolicy });
  return { stack, template: Template.fromStack(stack) };
}

const policyOf = (parley: Synthesized, name: FunctionName) =>
  environmentOf(parley, parley.stack.functions[name]).CONTACT_POLICY;

describe('the contact policy', () => {
  let fromContext: Synthesized;
  let byDefault: Synthesized;
  beforeAll(() => {
    fromContext = synthesize({ contactPolicy: 'requests' });
    byDefault = synthesize();
  });

  it.each(APPLYING)('reaches %s from context, and is open by default', (name) => {
    expect(policyOf(fromContext, name)).toBe('requests');
    expect(policyOf(byDefault, name)).toBe('open');
  });

  it('reaches no other function', () => {
    for (const name of OTHERS) expect(policyOf(fromContext, name), name).toBeUndefined();
  });

  it('may be given as the stack’s prop instead', () => {
    const parley = withProp('requests');
    expect(parley.stack.contactPolicy).toBe('requests');
    expect(policyOf(parley, 'send-message')).toBe('requests');
  });

  it('refuses a policy it does not know, and one given twice, at synth', () => {
    expect(() => synthesize({ contactPolicy: 'friends' })).toThrow(
      'Context "contactPolicy" must be open or requests, got "friends"',
    );
    expect(() => withProp('friends' as ContactPolicy)).toThrow(
      'The "contactPolicy" prop must be open or requests, got "friends"',
    );
    expect(() => withProp('requests', { contactPolicy: 'open' })).toThrow(
      /both as the "contactPolicy" prop and as context/,
    );
  });
});
