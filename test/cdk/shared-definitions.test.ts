/**
 * The deployed stack and the local stack must not drift: both are built from the objects exported by
 * definitions/. These tests check that the CDK stack used those very objects (not copies), that
 * the local stack imports the same modules, and that the local table DynamoDB Local gets is the table
 * CloudFormation gets.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as eventsModule from '../../definitions/events.ts';
import * as routesModule from '../../definitions/routes.ts';
import * as streamModule from '../../definitions/stream.ts';
import * as tableModule from '../../definitions/table.ts';
import { createTableInput } from '../../local/create-table.ts';
import { type Synthesized, synthesize } from './parley-app.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFINITIONS = {
  ROUTES: resolve(ROOT, 'definitions/routes.ts'),
  ROUTE_SELECTION_EXPRESSION: resolve(ROOT, 'definitions/routes.ts'),
  AUTHORIZER: resolve(ROOT, 'definitions/routes.ts'),
  TABLE: resolve(ROOT, 'definitions/table.ts'),
  DELIVERY_STREAM: resolve(ROOT, 'definitions/stream.ts'),
  EVENTS_STREAM: resolve(ROOT, 'definitions/events.ts'),
} as const;

/** `{ name → absolute module path }` of the named imports of a TypeScript source file. */
function namedImports(file: string): Map<string, string> {
  const imports = new Map<string, string>();
  const source = readFileSync(file, 'utf8');
  for (const match of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/g)) {
    const [, names = '', specifier = ''] = match;
    if (!specifier.startsWith('.')) continue;
    for (const name of names.split(',').map((n) => n.trim().replace(/^type\s+/, ''))) {
      if (name) imports.set(name, resolve(dirname(file), specifier));
    }
  }
  return imports;
}

describe('shared definitions', () => {
  // GIVEN the synthesized stack
  let parley: Synthesized;
  beforeAll(() => {
    parley = synthesize();
  });

  it('the CDK stack is built from the very route table, table and stream objects the definitions export', () => {
    expect(parley.stack.webSocket.routes).toBe(routesModule.ROUTES);
    expect(parley.stack.table.definition).toBe(tableModule.TABLE);
    expect(parley.stack.delivery.definition).toBe(streamModule.DELIVERY_STREAM);
    expect(parley.stack.events.definition).toBe(eventsModule.EVENTS_STREAM);
  });

  it('the local stack imports the same definition modules for the same objects', () => {
    // WHEN reading what the local stack's modules import, and from where
    const used = new Map<string, string>();
    for (const file of ['local/stack.ts', 'local/handlers.ts', 'local/create-table.ts']) {
      for (const [name, path] of namedImports(resolve(ROOT, file))) {
        if (name in DEFINITIONS) used.set(`${file}:${name}`, path);
      }
    }
    // THEN each shared object comes from its module in definitions/, not from a copy
    expect([...used.keys()]).toEqual(
      expect.arrayContaining([
        'local/stack.ts:ROUTES',
        'local/stack.ts:DELIVERY_STREAM',
        'local/stack.ts:EVENTS_STREAM',
        'local/create-table.ts:TABLE',
      ]),
    );
    for (const [where, path] of used) {
      const name = where.split(':')[1] as keyof typeof DEFINITIONS;
      expect(path, where).toBe(DEFINITIONS[name]);
    }
  });

  it("the local table (createTableInput) has the deployed table's keys, indexes and stream view", () => {
    // GIVEN what local/create-table.ts sends to DynamoDB Local
    const local = createTableInput('any');
    // WHEN compared with what CloudFormation deploys
    const deployed = Object.values(parley.template.findResources('AWS::DynamoDB::Table'))[0]
      ?.Properties as Record<string, unknown>;
    const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
      String(a.AttributeName).localeCompare(String(b.AttributeName));
    // THEN they agree
    expect([...(local.AttributeDefinitions ?? [])].sort(byName)).toEqual(
      [...(deployed.AttributeDefinitions as { AttributeName: string }[])].sort(byName),
    );
    expect(local.KeySchema).toEqual(deployed.KeySchema);
    expect(local.GlobalSecondaryIndexes).toEqual(deployed.GlobalSecondaryIndexes);
    expect(local.BillingMode).toBe(deployed.BillingMode);
    expect(local.StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: (deployed.StreamSpecification as { StreamViewType: string }).StreamViewType,
    });
    expect((deployed.TimeToLiveSpecification as { AttributeName: string }).AttributeName).toBe(
      tableModule.TABLE.timeToLiveAttribute,
    );
  });
});
