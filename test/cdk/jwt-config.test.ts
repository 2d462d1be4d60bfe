import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../lib/config.ts';
import { FUNCTION_PERMISSIONS, type FunctionName } from '../../lib/permissions.ts';
import {
  environmentOf,
  PUSH_CONTEXT,
  propertiesOf,
  type Synthesized,
  statementsOf,
  synthesize,
} from './parley-app.ts';

const NAMES = Object.keys(FUNCTION_PERMISSIONS) as FunctionName[];

/** Environment variable names that would carry a secret value rather than point at one. */
const SECRET_VALUE_NAMES = /SECRET(?!_ID$)|PASSWORD|PRIVATE|API_KEY|TOKEN/i;
/** The Parameters and Secrets extension's own settings (port, cache TTL, timeouts): no values. */
const EXTENSION_SETTINGS = /^(PARAMETERS_SECRETS_EXTENSION_|SECRETS_MANAGER_|SSM_PARAMETER_STORE_)/;

function expectNoSecretInAnyEnvironment(parley: Synthesized): void {
  for (const name of NAMES) {
    const env = environmentOf(parley, parley.stack.functions[name]);
    const suspicious = Object.keys(env).filter(
      (key) => SECRET_VALUE_NAMES.test(key) && !EXTENSION_SETTINGS.test(key),
    );
    expect(suspicious, name).toEqual([]);
    if (name !== 'authorizer') expect(env).not.toHaveProperty('JWT_SECRET_ID');
  }
}

describe('JWT verification with an HS256 secret (the default)', () => {
  it('generates the secret in Secrets Manager and passes only its ARN to the authorizer', () => {
    // GIVEN no JWT configuration
    const parley = synthesize();
    const { stack, template } = parley;
    const authorizer = stack.functions.authorizer;

    // THEN the stack owns a generated secret, never written in the template
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
    expect(propertiesOf(parley, stack.jwtSecret?.secretArn)).not.toHaveProperty('SecretString');

    // AND the authorizer gets its id, not its value, and reads it through the extension layer
    const env = environmentOf(parley, authorizer);
    expect(env.JWT_SECRET_ID).toEqual(stack.resolve(stack.jwtSecret?.secretArn));
    expect(env).toMatchObject({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773' });
    expect(env).not.toHaveProperty('JWT_SECRET');
    expect(env).not.toHaveProperty('JWKS_URL');
    const layers = propertiesOf(parley, authorizer.functionName).Layers as unknown[];
    expect(JSON.stringify(layers)).toContain('arm64');

    // AND may read that secret only
    expect(statementsOf(parley, authorizer)).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: [stack.resolve(stack.jwtSecret?.secretArn)],
    });
    expectNoSecretInAnyEnvironment(parley);
    template.hasOutput('JwtSecretArn', { Value: stack.resolve(stack.jwtSecret?.secretArn) });
  });

  it('uses an existing secret by name, granting read on that name only', () => {
    const parley = synthesize({
      jwtSecretId: 'parley/jwt',
      jwtIssuer: 'https://issuer.example',
      jwtAudience: 'parley',
    });
    parley.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const env = environmentOf(parley, parley.stack.functions.authorizer);
    expect(env).toMatchObject({
      JWT_SECRET_ID: 'parley/jwt',
      JWT_ISSUER: 'https://issuer.example',
      JWT_AUDIENCE: 'parley',
    });
    const secretStatement = statementsOf(parley, parley.stack.functions.authorizer).find((s) =>
      s.Action.includes('secretsmanager:GetSecretValue'),
    );
    expect(JSON.stringify(secretStatement?.Resource)).toContain(':secret:parley/jwt-??????');
    expectNoSecretInAnyEnvironment(parley);
  });

  it('uses an existing secret by its full ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:parley/jwt-AbCdEf';
    const parley = synthesize({ jwtSecretId: arn });
    expect(environmentOf(parley, parley.stack.functions.authorizer).JWT_SECRET_ID).toBe(arn);
    expect(statementsOf(parley, parley.stack.functions.authorizer)).toContainEqual(
      expect.objectContaining({ Resource: [arn] }),
    );
  });
});

describe('JWT verification against a JWKS URL', () => {
  it('passes URL, issuer and audience as plain configuration and creates no secret', () => {
    // GIVEN an identity provider's JWKS
    const parley = synthesize({
      jwksUrl: 'https://example.auth0.com/.well-known/jwks.json',
      jwtIssuer: 'https://example.auth0.com/',
      jwtAudience: 'parley-api',
    });
    // THEN the authorizer verifies against it, with no secret and no extension layer
    const env = environmentOf(parley, parley.stack.functions.authorizer);
    expect(env).toMatchObject({
      JWKS_URL: 'https://example.auth0.com/.well-known/jwks.json',
      JWT_ISSUER: 'https://example.auth0.com/',
      JWT_AUDIENCE: 'parley-api',
    });
    expect(env).not.toHaveProperty('JWT_SECRET_ID');
    expect(propertiesOf(parley, parley.stack.functions.authorizer.functionName).Layers).toBeUndefined();
    parley.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(JSON.stringify(parley.template.findResources('AWS::IAM::Policy'))).not.toContain(
      'secretsmanager:',
    );
    expectNoSecretInAnyEnvironment(parley);
  });
});

describe('configuration validation', () => {
  const read = (context: Record<string, string>) => () => readConfig(new App({ context }).node);

  it('defaults to stage prod, 30-day logs, a generated secret and no push', () => {
    expect(read({})()).toEqual({
      stageName: 'prod',
      jwt: { kind: 'secret' },
      push: [],
      logRetentionDays: 30,
      manageApiGatewayAccountRole: true,
      fanout: { maxConnectionsPerUser: 20, maxDevicesPerUser: 10, parallelism: 16 },
      rateLimits: {
        sendPerSecond: 10,
        sendBurst: 10,
        typingPerSecond: 2,
        typingBurst: 6,
        readPerMinute: 120,
        readBurst: 30,
        changePerMinute: 60,
        changeBurst: 20,
        conversationPerMinute: 3,
        conversationBurst: 5,
        membershipPerMinute: 20,
        membershipBurst: 20,
        reportPerMinute: 2,
        reportBurst: 10,
        uploadPerMinute: 30,
        uploadBurst: 20,
        devicePerMinute: 10,
        deviceBurst: 10,
        uploadMiBPerDay: 1024,
      },
      eventContent: false,
    });
  });

  it.each([
    [{ jwksUrl: 'https://idp.example/jwks.json' }, /jwtIssuer.*jwtAudience/],
    [{ jwksUrl: 'http://idp.example/jwks.json', jwtIssuer: 'i', jwtAudience: 'a' }, /https/],
    [{ jwksUrl: 'https://idp.example/jwks', jwtIssuer: 'i', jwtAudience: 'a', jwtSecretId: 's' }, /not both/],
    [{ pushAppArnApns: PUSH_CONTEXT.pushAppArnFcm }, /platform APNS/],
    [{ pushAppArnFcm: 'arn:aws:sns:eu-west-1:123456789012:my-topic' }, /platform GCM/],
    [{ stageName: 'prod stage' }, /stageName/],
    [{ logRetentionDays: '31' }, /logRetentionDays/],
    [{ logLevel: 'verbose' }, /logLevel/],
    [{ alarmEmail: 'ops' }, /alarmEmail/],
  ])('refuses %j at synth time', (context, message) => {
    expect(read(context)).toThrow(ConfigError);
    expect(read(context)).toThrow(message);
  });
});
