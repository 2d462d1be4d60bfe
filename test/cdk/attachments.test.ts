/**
 * The attachments bucket: private, encrypted, TLS only, unattached uploads removed after a day, CORS
 * for browser PUT and GET, and each function granted only its prefix and actions.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { environmentOf, statementsOf, synthesize } from './parley-app.ts';

const parley = synthesize();
const bucketRef = parley.stack.resolve(parley.stack.attachments.bucket.bucketName);

describe('the attachments bucket', () => {
  it('blocks all public access, encrypts with S3-managed keys and removes unattached uploads after 1 day', () => {
    parley.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Prefix: 'uploads/', ExpirationInDays: 1, Status: 'Enabled' })],
      },
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({
            AllowedMethods: ['PUT', 'GET', 'HEAD'],
            AllowedHeaders: ['Content-Type'],
            AllowedOrigins: ['*'],
          }),
        ],
      },
    });
  });

  it('refuses every request without TLS', () => {
    parley.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  const s3Grants = (name: keyof typeof parley.stack.functions) =>
    statementsOf(parley, parley.stack.functions[name])
      .filter((statement) => statement.Action.some((action) => action.startsWith('s3:')))
      .map((statement) => ({ actions: statement.Action, resource: JSON.stringify(statement.Resource) }));

  it.each([
    ['request-upload', [{ actions: ['s3:PutObject'], prefix: 'uploads/*' }]],
    [
      'send-message',
      [
        { actions: ['s3:GetObject'], prefix: 'uploads/*' },
        { actions: ['s3:PutObject'], prefix: 'attachments/*' },
      ],
    ],
    ['sync', [{ actions: ['s3:GetObject'], prefix: 'attachments/*' }]],
    ['delivery', [{ actions: ['s3:GetObject'], prefix: 'attachments/*' }]],
    ['mark-read', []],
    ['typing', []],
  ] as const)('grants %s exactly its objects', (name, expected) => {
    const grants = s3Grants(name);
    expect(grants.map((grant) => grant.actions)).toEqual(expected.map((grant) => grant.actions));
    for (const [index, grant] of expected.entries()) {
      expect(grants[index]?.resource).toContain(`/${grant.prefix}`);
    }
    const environment = environmentOf(parley, parley.stack.functions[name]);
    if (expected.length > 0) expect(environment.ATTACHMENTS_BUCKET).toEqual(bucketRef);
    else expect(environment).not.toHaveProperty('ATTACHMENTS_BUCKET');
  });
});
