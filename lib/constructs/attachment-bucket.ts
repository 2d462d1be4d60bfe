/**
 * The attachments bucket: private (every public access blocked), encrypted (S3-managed keys), TLS
 * only, reached by clients through presigned URLs alone (functions/shared/clients/s3.ts).
 *
 * - `uploads/{userId}/{uploadId}`: what clients PUT. The lifecycle rule removes every object under
 *   `uploads/` one day after it was written: an upload never attached is gone by then, and so is the
 *   upload item in the table (its TTL).
 * - `attachments/{conversationId}/{senderId}/{clientMessageId}/{uploadId}`: sendMessage copies an
 *   upload here when it attaches it to that message (functions/domain/attachments.ts), one object per
 *   message; no rule touches this prefix, so what a message holds stays.
 *
 * CORS lets the demo page (any origin: the URLs themselves are the authorisation) PUT and GET.
 */

import type { CfnElement } from 'aws-cdk-lib';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { AttachmentAccess } from '../permissions.ts';

export const UPLOADS_PREFIX = 'uploads/';
export const ATTACHMENTS_PREFIX = 'attachments/';
/** Unattached uploads are removed after this many days. */
export const UPLOAD_EXPIRY_DAYS = 1;

export class AttachmentBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const private_ = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    } as const;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...private_,
      lifecycleRules: [
        {
          id: 'expire-unattached-uploads',
          prefix: UPLOADS_PREFIX,
          expiration: Duration.days(UPLOAD_EXPIRY_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(UPLOAD_EXPIRY_DAYS),
        },
      ],
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
          allowedOrigins: ['*'],
          allowedHeaders: ['Content-Type'],
          exposedHeaders: ['ETag'],
          maxAge: 3000,
        },
      ],
      // Messages keep their attachments when the stack is replaced.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Clients reach objects only through URLs that Parley functions presign per request, and those ' +
        'functions log each upload and attachment; an operator who wants S3 data events enables CloudTrail.',
    });
  }

  /** `ATTACHMENTS_BUCKET`, and exactly the object permissions of `access`, each on its prefix only. */
  grantAccess(
    fn: iam.IGrantable & { addEnvironment(key: string, value: string): unknown },
    access: readonly AttachmentAccess[],
  ): void {
    if (access.length === 0) return;
    fn.addEnvironment('ATTACHMENTS_BUCKET', this.bucket.bucketName);
    const grants: { action: string; prefix: string }[] = [];
    for (const kind of new Set(access)) {
      if (kind === 'signUploads') grants.push({ action: 's3:PutObject', prefix: UPLOADS_PREFIX });
      if (kind === 'attachUploads') {
        grants.push({ action: 's3:GetObject', prefix: UPLOADS_PREFIX });
        grants.push({ action: 's3:PutObject', prefix: ATTACHMENTS_PREFIX });
      }
      if (kind === 'signDownloads') grants.push({ action: 's3:GetObject', prefix: ATTACHMENTS_PREFIX });
      if (kind === 'deleteAttachments')
        grants.push({ action: 's3:DeleteObject', prefix: ATTACHMENTS_PREFIX });
    }
    const stack = Stack.of(this);
    const logicalId = stack.resolve(
      stack.getLogicalId(this.bucket.node.defaultChild as CfnElement),
    ) as string;
    for (const prefix of new Set(grants.map((grant) => grant.prefix))) {
      fn.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: grants.filter((grant) => grant.prefix === prefix).map((grant) => grant.action),
          resources: [this.bucket.arnForObjects(`${prefix}*`)],
        }),
      );
      const role = (fn as { role?: iam.IRole }).role;
      Validations.of(role ?? this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}*]`,
        reason:
          'Object keys exist only at run time; the grant is limited to this prefix of the attachments bucket.',
      });
    }
  }
}
