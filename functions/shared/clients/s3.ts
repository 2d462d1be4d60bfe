/**
 * The attachments bucket, reached through presigned requests only.
 *
 * Every S3 request Parley makes is signed by `@aws-sdk/s3-request-presigner` (AWS's own SigV4 query
 * signer for S3): the browser's PUT of an upload, the members' GET of a download, and the two requests
 * send-message makes itself (a HEAD to check an upload, a copy to keep it), which it signs the same way
 * and sends with `fetch` straight away. Not `@aws-sdk/client-s3`: the S3 client adds about 155 KB to a
 * bundle (measured with the stack's esbuild settings), which would take send-message to ~410 KB and
 * delivery to ~460 KB, over architecture.md's 400 KB budget; the presigner adds about 5 KB.
 * The credentials and region are those of the DynamoDB client's chain (Lambda's role from the
 * environment, the local stack's keys locally): one chain per container.
 *
 * `S3_ENDPOINT` points it at the local stack's s3rver (path-style URLs, `http://host:port/bucket/key`);
 * AWS leaves it unset (virtual-hosted URLs, `https://{bucket}.s3.{region}.amazonaws.com/{key}`).
 */
import { type BinaryLike, createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { optionalEnv, requiredEnv } from '../env.ts';
import { dynamo } from './dynamodb.ts';

type SignableRequest = Parameters<S3RequestPresigner['presign']>[0];
type SourceData = string | ArrayBuffer | ArrayBufferView;

export const ATTACHMENTS_BUCKET = requiredEnv('ATTACHMENTS_BUCKET');
const ENDPOINT = optionalEnv('S3_ENDPOINT');

/** SHA-256 and HMAC-SHA-256 for the signer, from node:crypto (the SDK's own hash-node does the same). */
class Sha256 {
  private readonly secret: SourceData | undefined;
  private hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.secret = secret;
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', toBytes(this.secret) as BinaryLike);
  }
  update(data: SourceData): void {
    this.hash.update(toBytes(data) as BinaryLike);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function toBytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** Built once per container; signing is local computation, no request. */
const presigner = new S3RequestPresigner({
  credentials: dynamo.config.credentials,
  region: dynamo.config.region,
  sha256: Sha256,
});

/** A key segment as S3 (and the S3 client) encodes it: RFC 3986, `/` kept between segments. */
const encodeKey = (key: string): string =>
  key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');

async function requestFor(
  method: string,
  key: string,
  headers: Record<string, string> = {},
): Promise<SignableRequest> {
  if (ENDPOINT !== undefined) {
    const url = new URL(ENDPOINT);
    return {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `/${ATTACHMENTS_BUCKET}/${encodeKey(key)}`,
      query: {},
      headers: { host: url.host, ...headers },
    };
  }
  const hostname = `${ATTACHMENTS_BUCKET}.s3.${await dynamo.config.region()}.amazonaws.com`;
  return {
    method,
    protocol: 'https:',
    hostname,
    path: `/${encodeKey(key)}`,
    query: {},
    headers: { host: hostname, ...headers },
  };
}

function urlOf(request: SignableRequest): string {
  const port = request.port === undefined ? '' : `:${request.port}`;
  const query = Object.entries(request.query ?? {})
    .flatMap(([name, value]) => (Array.isArray(value) ? value.map((v) => [name, v]) : [[name, value]]))
    .map(([name, value]) => `${encodeURIComponent(String(name))}=${encodeURIComponent(String(value ?? ''))}`)
    .join('&');
  return `${request.protocol}//${request.hostname}${port}${request.path}${query === '' ? '' : `?${query}`}`;
}

async function presign(
  method: string,
  key: string,
  expiresInSeconds: number,
  now: Date,
  headers: Record<string, string> = {},
): Promise<{ url: string; headers: Record<string, string> }> {
  const signed = await presigner.presign(await requestFor(method, key, headers), {
    expiresIn: expiresInSeconds,
    signingDate: now,
    // Signed as headers, not hoisted into the query: S3 then refuses a request without them or with
    // other values (the copy source and its ETag condition for the copy).
    unhoistableHeaders: new Set(Object.keys(headers)),
    // The signer leaves Content-Type out unless told (it is unsignable by default for presigning).
    signableHeaders: new Set(Object.keys(headers)),
  });
  return { url: urlOf(signed), headers };
}

/**
 * A presigned PUT of one upload. `Content-Type` and `Content-Length` are signed headers: S3 answers
 * 403 SignatureDoesNotMatch to a PUT with another type or another size, so the object can only be
 * what was declared (s3rver, in the local stack, checks neither: send-message's HEAD is the check).
 */
export async function presignUpload(
  key: string,
  contentType: string,
  size: number,
  expiresInSeconds: number,
  now: Date,
): Promise<{ url: string; headers: Record<string, string> }> {
  const { url } = await presign('PUT', key, expiresInSeconds, now, {
    'content-type': contentType,
    'content-length': String(size),
  });
  return { url, headers: { 'Content-Type': contentType, 'Content-Length': String(size) } };
}

/** A presigned GET: a short-lived download link for members. */
export async function presignDownload(key: string, expiresInSeconds: number, now: Date): Promise<string> {
  return (await presign('GET', key, expiresInSeconds, now)).url;
}

export interface StoredObject {
  contentType: string | undefined;
  size: number;
  etag: string | undefined;
}

/** How long send-message's own S3 requests may take (they answer in milliseconds). */
const S3_TIMEOUT_MS = 3_000;
/** Validity of the URLs send-message signs for itself and sends at once. */
const OWN_REQUEST_EXPIRY_SECONDS = 60;

/**
 * HeadObject: what the bucket holds at `key`, or undefined when nothing. S3 answers a missing key with
 * 404 to a caller allowed s3:ListBucket and with 403 to others; send-message is not given ListBucket
 * (it would list every upload), so 403 counts as missing too. It asks only for keys its upload items name.
 */
export async function headAttachment(key: string): Promise<StoredObject | undefined> {
  const { url } = await presign('HEAD', key, OWN_REQUEST_EXPIRY_SECONDS, new Date());
  const response = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(S3_TIMEOUT_MS) });
  if (response.status === 404 || response.status === 403) return undefined;
  if (!response.ok) throw new Error(`S3 HeadObject answered ${response.status}`);
  return {
    contentType: response.headers.get('content-type') ?? undefined,
    size: Number(response.headers.get('content-length')),
    etag: response.headers.get('etag') ?? undefined,
  };
}

/**
 * CopyObject from `sourceKey` to `targetKey`, only if the source still has `etag` (what the HEAD saw):
 * an upload overwritten between the check and the copy is not copied (412). A copy can fail after S3
 * has answered 200, with an `<Error>` body: that is a failure too.
 */
export async function copyAttachment(
  sourceKey: string,
  targetKey: string,
  etag: string | undefined,
): Promise<void> {
  const headers: Record<string, string> = {
    'x-amz-copy-source': `/${ATTACHMENTS_BUCKET}/${encodeKey(sourceKey)}`,
    ...(etag !== undefined && { 'x-amz-copy-source-if-match': etag }),
  };
  const { url } = await presign('PUT', targetKey, OWN_REQUEST_EXPIRY_SECONDS, new Date(), headers);
  const response = await fetch(url, { method: 'PUT', headers, signal: AbortSignal.timeout(S3_TIMEOUT_MS) });
  const body = await response.text();
  if (response.status === 412) throw new UploadChangedError('the upload changed while it was being attached');
  if (!response.ok || body.includes('<Error>')) {
    throw new Error(`S3 CopyObject answered ${response.status}: ${body.slice(0, 200)}`);
  }
}

/** DeleteObject of a deleted message's attachment; a key already gone counts as deleted. */
export async function deleteAttachment(key: string): Promise<void> {
  const { url } = await presign('DELETE', key, OWN_REQUEST_EXPIRY_SECONDS, new Date());
  const response = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(S3_TIMEOUT_MS) });
  await response.body?.cancel();
  if (!response.ok && response.status !== 404) throw new Error(`S3 DeleteObject answered ${response.status}`);
}

export class UploadChangedError extends Error {
  override readonly name = 'UploadChangedError';
}
