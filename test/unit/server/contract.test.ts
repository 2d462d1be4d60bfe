/**
 * @parley/server carries copies of definitions/server-api.ts (a published package cannot import the
 * repository): these tests hold them equal, and its methods to the operations the server answers.
 */
import { describe, expect, it } from 'vitest';
import {
  LOCAL_SERVER_CREDENTIALS,
  SERVER_API,
  SERVER_API_OPERATIONS,
  SYSTEM_SENDER,
} from '../../../definitions/server-api.ts';
import {
  IDEMPOTENCY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  OPERATIONS,
  SYSTEM_SENDER as PACKAGE_SYSTEM_SENDER,
  SIGNING_SERVICE,
} from '../../../server/src/contract.ts';
import { ParleyServer } from '../../../server/src/index.ts';

describe('@parley/server and definitions/server-api.ts', () => {
  it('has the method, path and write flag of every operation the server answers, and only those', () => {
    const built = SERVER_API_OPERATIONS.filter((operation) => operation.built).map(
      ({ name, method, path, write }) => ({
        name,
        method,
        path,
        write,
      }),
    );
    const ours = Object.entries(OPERATIONS).map(([name, operation]) => ({ name, ...operation }));
    expect(ours).toEqual(built);
  });

  it('has one public method per served operation, none for the others', () => {
    const methods = Object.getOwnPropertyNames(ParleyServer.prototype).filter(
      (name) => name !== 'constructor',
    );
    const built = SERVER_API_OPERATIONS.filter((operation) => operation.built).map(
      (operation) => operation.name,
    );
    const unbuilt = SERVER_API_OPERATIONS.filter((operation) => !operation.built).map(
      (operation) => operation.name,
    );
    expect(methods.sort()).toEqual([...built].sort());
    for (const name of unbuilt) expect(ParleyServer.prototype).not.toHaveProperty(name);
  });

  it('signs as the server checks, and names the same header, key pattern and local credentials', () => {
    expect(SIGNING_SERVICE).toBe(SERVER_API.signingService);
    expect(LOCAL_REGION).toBe(SERVER_API.localRegion);
    expect(IDEMPOTENCY_HEADER).toBe(SERVER_API.idempotencyHeader);
    expect(IDEMPOTENCY_KEY_PATTERN.source).toBe(SERVER_API.idempotencyKeyPattern.source);
    expect(LOCAL_CREDENTIALS).toEqual(LOCAL_SERVER_CREDENTIALS);
    expect(PACKAGE_SYSTEM_SENDER).toBe(SYSTEM_SENDER);
    for (const { path } of Object.values(OPERATIONS))
      expect(path.startsWith(`${SERVER_API.basePath}/`)).toBe(true);
  });
});
