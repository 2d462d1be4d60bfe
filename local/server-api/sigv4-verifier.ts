/**
 * The local stack's check of a server API request's SigV4 signature (integration.md, "The server API"):
 * what API Gateway's IAM authorization does in AWS, against the local credentials instead of IAM. The
 * backend's signing code is the same in both places, so nothing here is Parley's own SigV4: the request
 * is rebuilt as it arrived (method, path, query, the headers it signed, body) and signed again with
 * AWS's own signer (`@smithy/signature-v4`) at the request's own date; the two signatures must be equal.
 * Refusals are 403 `forbidden`, with roughly the message AWS gives.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  LOCAL_SERVER_CREDENTIALS,
  MAX_SIGNATURE_SKEW_MS,
  SERVER_API,
  type ServerApiError,
} from '../../definitions/server-api.ts';

export interface ServerApiCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * The local credentials: `PARLEY_LOCAL_ACCESS_KEY_ID` / `PARLEY_LOCAL_SECRET_ACCESS_KEY` when set (not
 * empty), the documented defaults otherwise. Throws on a key id that cannot appear in a credential scope.
 */
export function resolveLocalServerCredentials(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ServerApiCredentials {
  const names = LOCAL_SERVER_CREDENTIALS.env;
  const accessKeyId = env[names.accessKeyId] || LOCAL_SERVER_CREDENTIALS.accessKeyId;
  const secretAccessKey = env[names.secretAccessKey] || LOCAL_SERVER_CREDENTIALS.secretAccessKey;
  if (!/^[\w.-]{1,128}$/.test(accessKeyId)) {
    throw new Error(
      `${names.accessKeyId} must be 1 to 128 letters, digits, '_', '-' or '.' (an AWS access key id), got "${accessKeyId}"`,
    );
  }
  if (/[\s]/.test(secretAccessKey)) throw new Error(`${names.secretAccessKey} must not contain spaces`);
  return { accessKeyId, secretAccessKey };
}

/** A request as it arrived on the wire. */
export interface ReceivedRequest {
  readonly method: string;
  /** The path as sent, percent-encoding kept (`/v1/users/a%40b/revoke`). */
  readonly path: string;
  /** The query string as sent, without `?` (empty when none). */
  readonly rawQuery: string;
  /** Lowercased names, as Node gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Uint8Array;
}

export type SignatureVerdict =
  | { readonly ok: true; readonly accessKeyId: string; readonly signedAt: Date }
  | { readonly ok: false; readonly statusCode: 403; readonly error: ServerApiError };

export interface SigV4VerifierOptions {
  readonly credentials: ServerApiCredentials;
  /** @default SERVER_API.localRegion */
  readonly region?: string;
  /** @default SERVER_API.signingService */
  readonly service?: string;
  /** @default MAX_SIGNATURE_SKEW_MS */
  readonly maxSkewMs?: number;
  /** Milliseconds since the epoch; the verifier compares `X-Amz-Date` with it. */
  readonly now?: () => number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE = 'x-amz-date';
const CONTENT_SHA256 = 'x-amz-content-sha256';
const SECURITY_TOKEN = 'x-amz-security-token';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

export class SigV4Verifier {
  readonly #credentials: ServerApiCredentials;
  readonly #region: string;
  readonly #service: string;
  readonly #maxSkewMs: number;
  readonly #now: () => number;

  constructor(options: SigV4VerifierOptions) {
    this.#credentials = options.credentials;
    this.#region = options.region ?? SERVER_API.localRegion;
    this.#service = options.service ?? SERVER_API.signingService;
    this.#maxSkewMs = options.maxSkewMs ?? MAX_SIGNATURE_SKEW_MS;
    this.#now = options.now ?? Date.now;
  }

  async verify(request: ReceivedRequest): Promise<SignatureVerdict> {
    const authorization = headerValue(request.headers, 'authorization');
    if (authorization === undefined || authorization.trim() === '')
      return refuse('Missing Authentication Token');
    const parsed = parseAuthorization(authorization);
    if (typeof parsed === 'string') return refuse(parsed);

    const amzDate = headerValue(request.headers, AMZ_DATE);
    if (amzDate === undefined) {
      return refuse(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
          `Authorization=${redacted(authorization)}`,
      );
    }
    const signedAt = parseAmzDate(amzDate);
    if (signedAt === undefined) {
      return refuse(
        `Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      );
    }

    if (!sameText(parsed.accessKeyId, this.#credentials.accessKeyId)) {
      return refuse('The security token included in the request is invalid.');
    }
    if (parsed.scopeDate !== amzDate.slice(0, 8)) {
      return refuse(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
          `'${parsed.scopeDate}' != '${amzDate.slice(0, 8)}', from '${AMZ_DATE}'.`,
      );
    }
    if (parsed.region !== this.#region) {
      return refuse(
        `Credential should be scoped to a valid region, not '${parsed.region}'. Use '${this.#region}'.`,
      );
    }
    if (parsed.service !== this.#service) {
      return refuse(`Credential should be scoped to correct service: '${this.#service}'. `);
    }

    const now = this.#now();
    const skew = signedAt.getTime() - now;
    if (skew < -this.#maxSkewMs) {
      return refuse(
        `Signature expired: ${amzDate} is now earlier than ${basicFormat(now - this.#maxSkewMs)} ` +
          `(${basicFormat(now)} - ${minutes(this.#maxSkewMs)} min.)`,
      );
    }
    if (skew > this.#maxSkewMs) {
      return refuse(
        `Signature not yet current: ${amzDate} is still later than ${basicFormat(now + this.#maxSkewMs)} ` +
          `(${basicFormat(now)} + ${minutes(this.#maxSkewMs)} min.)`,
      );
    }

    const signed = new Set(parsed.signedHeaders);
    if (!signed.has('host')) {
      return refuse("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    }
    if (headerValue(request.headers, SECURITY_TOKEN) !== undefined && !signed.has(SECURITY_TOKEN)) {
      return refuse("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.");
    }

    // The signer takes a signed `x-amz-content-sha256` as the payload's hash without hashing the body:
    // it must be the body's, or a request could carry another body under the same signature.
    if (signed.has(CONTENT_SHA256)) {
      const declared = headerValue(request.headers, CONTENT_SHA256);
      const actual = createHash('sha256').update(request.body).digest('hex');
      if (declared !== actual) {
        return refuse("The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
    }

    const expected = await this.#expectedSignature(request, parsed, signedAt);
    if (!sameText(parsed.signature, expected)) return refuse(SIGNATURE_MISMATCH);
    return { ok: true, accessKeyId: parsed.accessKeyId, signedAt };
  }

  /** What AWS's signer makes of the request as received, with the local credentials, at its date. */
  async #expectedSignature(
    request: ReceivedRequest,
    parsed: ParsedAuthorization,
    signedAt: Date,
  ): Promise<string> {
    const headers: Record<string, string> = {};
    for (const name of parsed.signedHeaders) {
      const value = headerValue(request.headers, name);
      if (value !== undefined) headers[name] = value;
    }
    const host = headers.host ?? '';
    const signer = new SignatureV4({
      credentials: this.#credentials,
      region: this.#region,
      service: this.#service,
      sha256: Sha256,
      // Adds `x-amz-content-sha256` when the request lacks it: only if the sender signed one (then it
      // is present and kept), so that the rebuilt request signs the same headers as the sender's.
      applyChecksum: signed(parsed, CONTENT_SHA256),
      uriEscapePath: true,
    });
    const resigned = await signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: host.replace(/:\d+$/, ''),
        path: request.path,
        query: parseQuery(request.rawQuery),
        headers,
        body: request.body,
      },
      // Headers the signer skips by default (`user-agent`, …) count when the sender signed them.
      { signingDate: signedAt, signableHeaders: new Set(parsed.signedHeaders) },
    );
    const authorization = String(resigned.headers.authorization ?? '');
    return /Signature=([0-9a-f]+)$/.exec(authorization)?.[1] ?? '';
  }
}

/**
 * A query string as the signer takes it: decoded names and values, repeated names as arrays. A `+`
 * stays a `+` (SigV4 encodes a space as `%20`); a malformed escape is kept as sent (and fails the
 * signature, since the sender's signer could not have produced it).
 */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (rawQuery === '') return query;
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decode(at === -1 ? pair : pair.slice(0, at));
    const value = at === -1 ? '' : decode(pair.slice(at + 1));
    // The signer's own query copy drops a `__proto__` name; so do we (the signature then fails).
    if (name === '__proto__') continue;
    const previous = Object.hasOwn(query, name) ? query[name] : undefined;
    query[name] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return query;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function signed(parsed: ParsedAuthorization, name: string): boolean {
  return parsed.signedHeaders.includes(name);
}

function refuse(message: string): SignatureVerdict {
  return { ok: false, statusCode: 403, error: { code: 'forbidden', message } };
}

/** A header's value; repeated ones joined with commas, as SigV4's canonical headers join them. */
function headerValue(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`, or why not. */
function parseAuthorization(header: string): ParsedAuthorization | string {
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    return `Authorization header requires the '${ALGORITHM}' algorithm. Authorization=${redacted(header)}`;
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const item = part.trim();
    const at = item.indexOf('=');
    if (at <= 0) {
      return `Invalid key=value pair (missing equal-sign) in Authorization header: '${redacted(header)}'.`;
    }
    fields.set(item.slice(0, at), item.slice(at + 1));
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !fields.get(name));
  if (missing.length > 0) {
    return `${missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ')} Authorization=${redacted(header)}`;
  }
  const credential = (fields.get('Credential') ?? '').split('/');
  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator] = credential;
  if (credential.length !== 5 || terminator !== 'aws4_request' || accessKeyId === '') {
    return `Credential should be scoped to a valid region, service and 'aws4_request' terminator: 'AKID/yyyymmdd/region/service/aws4_request'. Authorization=${redacted(header)}`;
  }
  if (!/^\d{8}$/.test(scopeDate)) {
    return `Invalid credential date "${scopeDate}". This date is not the same as X-Amz-Date: yyyymmdd.`;
  }
  const signedHeaders = (fields.get('SignedHeaders') ?? '').split(';');
  if (signedHeaders.some((name) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name))) {
    return `SignedHeaders must be lowercase header names separated by ';'. Authorization=${redacted(header)}`;
  }
  const signature = fields.get('Signature') ?? '';
  if (!/^[0-9a-f]{64}$/.test(signature)) {
    return `Signature must be 64 lowercase hexadecimal characters. Authorization=${redacted(header)}`;
  }
  return { accessKeyId, scopeDate, region, service, signedHeaders, signature };
}

/** The header without its signature: messages (and logs) never repeat it. */
function redacted(header: string): string {
  return header.replace(/Signature=[^,\s]*/g, 'Signature=…');
}

/** `20240131T235959Z` (SigV4's basic format), or undefined for anything else or a date that does not exist. */
function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  const date = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day, hour, minute, second));
  return basicFormat(date.getTime()) === value ? date : undefined;
}

function basicFormat(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function minutes(ms: number): string {
  return String(Math.round(ms / 60_000));
}

/** Constant-time equality of two strings (their lengths aside). */
function sameText(offered: string, expected: string): boolean {
  const a = Buffer.from(offered);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
