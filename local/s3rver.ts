/**
 * The local stack's attachments bucket: s3rver (an S3-compatible server on the npm registry) on
 * 127.0.0.1 and a free port, its files under a temporary folder (or `{persistDir}/s3` with
 * `--persist`), the bucket and its CORS rules (browser PUT and GET from the demo page) created at
 * start. The handlers get `S3_ENDPOINT` and sign their URLs against it with the real presigner.
 *
 * s3rver 3.7.1 checks a presigned URL's expiry but not its SigV4 signature, so it takes a PUT of
 * another type or size than the URL was signed for: locally only send-message's HEAD check stands
 * between a wrong upload and a message (docs/protocol.md "Attachments").
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

export const LOCAL_ATTACHMENTS_BUCKET = 'parley-local-attachments';

const CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export async function startLocalS3(options: {
  persistDir: string | undefined;
  credentials: { accessKeyId: string; secretAccessKey: string };
}): Promise<LocalS3> {
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
  // s3rver knows one hard-coded key pair; the handlers sign with the local stack's keys.
  const account = require('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
  };
  account.DUMMY_ACCOUNT.createKeyPair(options.credentials.accessKeyId, options.credentials.secretAccessKey);
  const temporary = options.persistDir === undefined;
  const directory = temporary
    ? mkdtempSync(join(tmpdir(), 'parley-s3-'))
    : join(options.persistDir ?? '', 's3');
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: LOCAL_ATTACHMENTS_BUCKET, configs: [CORS] }],
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: LOCAL_ATTACHMENTS_BUCKET,
    async stop() {
      await server.close().catch(() => undefined);
      if (temporary) rmSync(directory, { recursive: true, force: true });
    },
  };
}
