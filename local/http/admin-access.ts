/**
 * Who may use the local stack's unauthenticated HTTP endpoints: the `@connections` management API
 * (post to, inspect or close anyone's connection) and `/_local/` (recorded pushes, fake SNS and SQS).
 * On AWS the management API needs IAM credentials; here the handlers call it over 127.0.0.1 with
 * SigV4 signatures nobody checks. So a request from this machine (a loopback address) is trusted as
 * the handlers' own, and any other needs the local admin key: with `--host 0.0.0.0` the stack is on
 * the network, and a phone on the LAN may open WebSockets (JWT-checked) but nothing else without it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { localLog } from '../log.ts';

export const ADMIN_KEY_HEADER = 'x-parley-admin-key';

export type AdminAccess = 'local' | 'key' | 'missing' | 'wrong';

/** 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. Anything unknown is not loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.replace(/^::ffff:/i, '');
  if (isIP(plain) === 4) return plain.startsWith('127.');
  // The URL parser writes an IPv6 address in its canonical form: 0:0:0:0:0:0:0:1 becomes ::1.
  return isIP(address) === 6 && new URL(`http://[${address}]/`).hostname === '[::1]';
}

/** Whether listening on `host` keeps the stack on this machine (`localhost`, 127.x, ::1). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare.toLowerCase() === 'localhost' || isLoopbackAddress(bare);
}

/**
 * The decision for one request: `local` and `key` are allowed. The key comes as
 * `Authorization: Bearer <key>` or `x-parley-admin-key: <key>`. Without a configured key only local
 * requests pass (fail closed).
 */
export function adminAccess(
  remoteAddress: string | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  adminKey: string | undefined,
  isLocal: (address: string | undefined) => boolean = isLoopbackAddress,
): AdminAccess {
  if (isLocal(remoteAddress)) return 'local';
  const offered = offeredKey(headers);
  if (offered === undefined) return 'missing';
  return adminKey !== undefined && adminKey !== '' && sameSecret(offered, adminKey) ? 'key' : 'wrong';
}

export function generateAdminKey(): string {
  return randomBytes(24).toString('base64url');
}

function offeredKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const direct = headers[ADMIN_KEY_HEADER];
  if (typeof direct === 'string' && direct.trim() !== '') return direct.trim();
  const authorization = headers.authorization;
  const bearer =
    typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  return bearer;
}

/** Constant-time comparison of digests, so neither the key's content nor its length leaks by timing. */
function sameSecret(offered: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(offered), digest(expected));
}

export interface AdminSettings {
  /** The admin key; without one, only requests from this machine reach the guarded endpoints. */
  readonly key: string | undefined;
  /** Which remote addresses count as this machine (tests stand in a LAN client with `() => false`). */
  readonly isLocal?: (address: string | undefined) => boolean;
}

/**
 * Answers a request that may not use the guarded endpoints (401 without a key, 403 with a wrong one)
 * and returns false; returns true when it may go on. The error type header lets the management API
 * client surface it as a named exception.
 */
export function admitAdminRequest(
  settings: AdminSettings | undefined,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const address = request.socket.remoteAddress;
  const access = adminAccess(address, request.headers, settings?.key, settings?.isLocal);
  if (access === 'local' || access === 'key') return true;
  localLog.warn(
    `refused ${request.method} ${request.url?.split('?')[0]} from ${address}: admin key ${access}`,
  );
  const [statusCode, type] =
    access === 'missing' ? [401, 'UnauthorizedException'] : [403, 'ForbiddenException'];
  request.resume();
  response
    .writeHead(statusCode, {
      'Content-Type': 'application/json',
      'x-amzn-ErrorType': type,
      'WWW-Authenticate': 'Bearer realm="parley-local-admin"',
      Connection: 'close',
    })
    .end(
      JSON.stringify({
        message: `From another machine this endpoint needs the local admin key (printed by npm start): Authorization: Bearer <key> or ${ADMIN_KEY_HEADER}: <key>`,
      }),
    );
  return false;
}
