/**
 * ParleyServer: one typed method per operation of the server API (integration.md), each a JSON request
 * signed with SigV4 by AWS's own signer (service `execute-api`), sent with the global fetch and retried
 * when retrying is safe: writes carry an `Idempotency-Key` that every attempt repeats.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  IDEMPOTENCY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  LOCAL_URL,
  OPERATIONS,
  type OperationName,
  SIGNING_SERVICE,
} from './contract.ts';
import { codeForStatus, ParleyServerError } from './errors.ts';
import {
  backoffDelay,
  type RetryOptions,
  type RetryPolicy,
  retryAfterMs,
  retryPolicy,
  sleep,
} from './retry.ts';
import type {
  CreateConversationInput,
  CreatedConversation,
  ListMessagesQuery,
  ListReportsQuery,
  MessagePage,
  ReportList,
  ResolveReportInput,
  SendMessageInput,
  SentMessage,
  WriteAnswer,
} from './types.ts';

/** AWS credentials: an IAM user's or role's keys (a role's come with `sessionToken`). */
export interface ServerCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When temporary credentials lapse; a provider is asked again before then. */
  readonly expiration?: Date;
}

/** Called before each signature; should cache what it resolves until it nears its expiration. */
export type ServerCredentialProvider = () => Promise<ServerCredentials>;

export interface ParleyServerOptions {
  /** The API's base URL: the stack output `ServerApiUrl`, or `http://127.0.0.1:3001` for `npm start`. */
  readonly url: string;
  /**
   * The region the signature names. Default: the one in an `execute-api.{region}.amazonaws.com` URL, else
   * `AWS_REGION` / `AWS_DEFAULT_REGION`. The local stack's is `local` (ParleyServer.local sets it).
   */
  readonly region?: string;
  /** Default: the AWS SDK's default credential chain (environment, SSO, config files, ECS/EC2 roles…). */
  readonly credentials?: ServerCredentials | ServerCredentialProvider;
  /** When failed calls are sent again. */
  readonly retry?: RetryOptions;
  /** An attempt with no answer after this long is abandoned (and retried). Default 30 s. */
  readonly timeoutMs?: number;
}

export interface LocalServerOptions extends Omit<ParleyServerOptions, 'url' | 'region' | 'credentials'> {
  /** Default `http://127.0.0.1:3001`. */
  readonly url?: string;
}

/** Options of every read. */
export interface ReadOptions {
  /** Aborts the call, a wait between attempts included; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of every write. */
export interface WriteOptions extends ReadOptions {
  /**
   * Sent as `Idempotency-Key` by every attempt of this call: a retry answers what the first answered.
   * Pass your own (1–128 printable ASCII characters) to make a call idempotent across your own retries
   * or restarts; by default each call gets a fresh `crypto.randomUUID()`.
   */
  readonly idempotencyKey?: string;
}

type PathParams = Readonly<Record<string, string>>;
type Query = Readonly<Record<string, string | number | undefined>>;

interface Call {
  readonly params?: PathParams;
  readonly query?: Query;
  readonly body?: object;
  readonly options?: WriteOptions | undefined;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export class ParleyServer {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  /** The region the signatures name. */
  readonly region: string;
  readonly #base: URL;
  /** The base URL's path without its trailing slash: `''`, or an API stage such as `/prod`. */
  readonly #basePath: string;
  readonly #signer: SignatureV4;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;

  constructor(options: ParleyServerOptions) {
    this.#base = baseUrl(options.url);
    this.#basePath = this.#base.pathname.replace(/\/+$/, '');
    this.url = `${this.#base.origin}${this.#basePath}`;
    this.region = options.region ?? regionOf(this.#base) ?? envRegion() ?? '';
    if (!this.region) {
      throw new TypeError(
        `ParleyServer: no region for ${this.url}: pass { region }, or set AWS_REGION (ParleyServer.local() for npm start)`,
      );
    }
    this.#retry = retryPolicy(options.retry);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.#timeoutMs > 0))
      throw new TypeError(`ParleyServer: timeoutMs must be positive, not ${this.#timeoutMs}`);
    this.#signer = new SignatureV4({
      service: SIGNING_SERVICE,
      region: this.region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: Sha256,
    });
  }

  /**
   * A client of the local stack (`npm start`): region `local` and the local credentials, or the
   * `PARLEY_LOCAL_ACCESS_KEY_ID` / `PARLEY_LOCAL_SECRET_ACCESS_KEY` the stack was started with.
   */
  static local(options: LocalServerOptions = {}): ParleyServer {
    return new ParleyServer({
      ...options,
      url: options.url ?? LOCAL_URL,
      region: LOCAL_REGION,
      credentials: {
        accessKeyId: process.env[LOCAL_CREDENTIALS.env.accessKeyId] || LOCAL_CREDENTIALS.accessKeyId,
        secretAccessKey:
          process.env[LOCAL_CREDENTIALS.env.secretAccessKey] || LOCAL_CREDENTIALS.secretAccessKey,
      },
    });
  }

  /**
   * `POST /v1/conversations`: the direct conversation of two members (the id their clients derive) or a
   * group, accepted for every member. Answers 201 with the conversation.
   */
  createConversation(input: CreateConversationInput, options?: WriteOptions): Promise<CreatedConversation> {
    const body = { members: input.members, ...(input.title === undefined ? {} : { title: input.title }) };
    return this.#call('createConversation', { body, options });
  }

  /**
   * `POST /v1/conversations/{id}/messages`: a message from a member, or from `'system'` (a notice). A
   * repeated `clientMessageId` answers the first commit with `duplicate: true`.
   */
  sendMessage(conversationId: string, input: SendMessageInput, options?: WriteOptions): Promise<SentMessage> {
    const { clientMessageId, content, senderId } = input;
    return this.#call('sendMessage', {
      params: { id: conversationId },
      body: { clientMessageId, content, senderId },
      options,
    });
  }

  /** `GET /v1/conversations/{id}/messages`: a page of history, as `sync` answers it. */
  listMessages(
    conversationId: string,
    query: ListMessagesQuery = {},
    options?: ReadOptions,
  ): Promise<MessagePage> {
    return this.#call('listMessages', {
      params: { id: conversationId },
      query: { afterSeq: query.afterSeq, afterVersion: query.afterVersion, limit: query.limit },
      options,
    });
  }

  /** `GET /v1/reports`: the report queue (`{ status: 'open' }` for what is left to handle). */
  listReports(query: ListReportsQuery = {}, options?: ReadOptions): Promise<ReportList> {
    return this.#call('listReports', { query: { status: query.status }, options });
  }

  /** `POST /v1/reports/{id}/resolve`: takes the report off the open queue. */
  resolveReport(
    reportId: string,
    input: ResolveReportInput = {},
    options?: WriteOptions,
  ): Promise<WriteAnswer> {
    const body = input.note === undefined ? {} : { note: input.note };
    return this.#call('resolveReport', { params: { id: reportId }, body, options });
  }

  /** `PUT /v1/users/{id}/blocks/{otherId}`: `userId` blocks `otherId`, as their own `block` would. */
  block(userId: string, otherId: string, options?: WriteOptions): Promise<WriteAnswer> {
    return this.#call('block', { params: { id: userId, otherId }, body: {}, options });
  }

  /** `DELETE /v1/users/{id}/blocks/{otherId}`: undoes block(). */
  unblock(userId: string, otherId: string, options?: WriteOptions): Promise<WriteAnswer> {
    return this.#call('unblock', { params: { id: userId, otherId }, options });
  }

  /** `POST /v1/users/{id}/deactivate`: their connections close, their tokens are refused (403). */
  deactivate(userId: string, options?: WriteOptions): Promise<WriteAnswer> {
    return this.#call('deactivate', { params: { id: userId }, body: {}, options });
  }

  /** `POST /v1/users/{id}/reactivate`: undoes deactivate(). */
  reactivate(userId: string, options?: WriteOptions): Promise<WriteAnswer> {
    return this.#call('reactivate', { params: { id: userId }, body: {}, options });
  }

  /** `POST /v1/users/{id}/revoke`: every session of the user ends; tokens issued before now are refused. */
  revoke(userId: string, options?: WriteOptions): Promise<WriteAnswer> {
    return this.#call('revoke', { params: { id: userId }, body: {}, options });
  }

  /** One operation: signed afresh and sent for each attempt, retried while the failure is retryable. */
  async #call<T>(name: OperationName, call: Call): Promise<T> {
    const operation = OPERATIONS[name];
    const path = `${this.#basePath}${fillPath(name, operation.path, call.params ?? {})}`;
    const query = definedQuery(call.query ?? {});
    const headers: Record<string, string> = { accept: 'application/json' };
    if (operation.write) headers[IDEMPOTENCY_HEADER.toLowerCase()] = idempotencyKey(name, call.options);
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    // URLSearchParams writes a space as `+`, which SigV4 (API Gateway, the local stack) reads as a `+`:
    // `%20` is a space for everyone. Any `+` it writes is a space: a real `+` comes out as `%2B`.
    const search = new URLSearchParams(query).toString().replaceAll('+', '%20');
    const url = `${this.#base.origin}${path}${search ? `?${search}` : ''}`;
    const signal = call.options?.signal;

    for (let attempt = 1; ; attempt += 1) {
      signal?.throwIfAborted();
      // Signed for each attempt: a new X-Amz-Date, and credentials that may have been refreshed.
      const signed = await this.#signer.sign(
        {
          method: operation.method,
          protocol: this.#base.protocol,
          hostname: this.#base.hostname,
          ...(this.#base.port ? { port: Number(this.#base.port) } : {}),
          path,
          query,
          headers: { ...headers, host: this.#base.host },
          body,
        },
        { signingDate: new Date() },
      );
      // fetch sends Host itself, with the same value: it is signed, not passed.
      const { host: _host, ...sent } = signed.headers;
      let failure: ParleyServerError;
      try {
        const response = await fetch(url, {
          method: operation.method,
          headers: sent,
          body,
          signal: signal
            ? AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)])
            : AbortSignal.timeout(this.#timeoutMs),
        });
        const text = await response.text();
        if (response.ok) return parseAnswer(name, response.status, text) as T;
        failure = errorFromAnswer(name, response, text);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof ParleyServerError) throw error;
        failure = networkError(name, error);
      }
      if (!failure.retryable || attempt >= this.#retry.attempts) throw failure;
      const delay = failure.retryAfterMs ?? backoffDelay(this.#retry, attempt);
      if (delay > this.#retry.maxDelayMs) throw failure;
      await sleep(delay, signal);
    }
  }
}

function baseUrl(url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new TypeError(`ParleyServer: url is not a URL: ${url}`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new TypeError(`ParleyServer: url must be http(s), not ${base.protocol}`);
  }
  if (base.search || base.hash) throw new TypeError(`ParleyServer: url takes no query or fragment: ${url}`);
  return base;
}

/** `abc123.execute-api.eu-west-1.amazonaws.com` → `eu-west-1`. */
function regionOf(base: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(base.hostname)?.[1];
}

function envRegion(): string | undefined {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
}

/** The operation's path with each `{name}` replaced by its parameter, URL-encoded as one segment. */
function fillPath(operation: string, template: string, params: PathParams): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = params[key];
    // `.` and `..` would be resolved away as dot segments by URL parsers, even encoded.
    if (typeof value !== 'string' || value === '' || value === '.' || value === '..') {
      throw new TypeError(`${operation}: ${key} must be a non-empty id, not ${JSON.stringify(value)}`);
    }
    return encodeURIComponent(value);
  });
}

function definedQuery(query: Query): Record<string, string> {
  const defined: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) defined[key] = String(value);
  return defined;
}

function idempotencyKey(operation: string, options: WriteOptions | undefined): string {
  const key = options?.idempotencyKey ?? crypto.randomUUID();
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new TypeError(`${operation}: idempotencyKey must be 1 to 128 printable ASCII characters`);
  }
  return key;
}

/** A success: its JSON, or `{}` when it has no body (204). */
function parseAnswer(operation: string, status: number, text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ParleyServerError({
      status,
      code: 'invalid_response',
      message: `${operation}: the answer (HTTP ${status}) is not JSON`,
      operation,
      cause,
    });
  }
}

function errorFromAnswer(operation: string, response: Response, text: string): ParleyServerError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const field = (name: string): string | undefined => {
    if (typeof body !== 'object' || body === null) return undefined;
    const value = (body as Record<string, unknown>)[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return new ParleyServerError({
    status: response.status,
    code: field('code') ?? codeForStatus(response.status),
    // API Gateway's own refusals say `message` (HTTP APIs) or `Message` (REST APIs), with no code.
    message:
      field('message') ??
      field('Message') ??
      `${operation}: HTTP ${response.status} ${response.statusText}`.trim(),
    operation,
    retryAfterMs: retryAfterMs(response.headers, body),
  });
}

function networkError(operation: string, cause: unknown): ParleyServerError {
  const timeout = cause instanceof Error && cause.name === 'TimeoutError';
  const reason =
    cause instanceof Error
      ? cause.cause instanceof Error
        ? cause.cause.message
        : cause.message
      : String(cause);
  return new ParleyServerError({
    status: 0,
    code: timeout ? 'timeout' : 'network_error',
    message: `${operation}: ${timeout ? 'no answer in time' : `no answer (${reason})`}`,
    operation,
    cause,
  });
}
