/** Configuration is read once at cold start; a misconfigured authorizer must fail there, naming the variable. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readAuthConfig } from '../../../functions/authorizer/config.ts';

function environment(values: Record<string, string>) {
  for (const name of ['JWT_SECRET', 'JWT_SECRET_ID', 'JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE']) {
    vi.stubEnv(name, values[name] ?? '');
  }
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('readAuthConfig', () => {
  it('uses HS256 with JWT_SECRET, checking issuer and audience only when they are set', () => {
    environment({ JWT_SECRET: 'parley-local-secret' });

    expect(readAuthConfig()).toEqual({
      mode: 'hs256',
      secret: { kind: 'value', secret: 'parley-local-secret' },
      issuer: undefined,
      audience: undefined,
    });
  });

  it('uses HS256 with a Secrets Manager secret named by JWT_SECRET_ID', () => {
    environment({ JWT_SECRET_ID: 'parley/jwt', JWT_ISSUER: 'parley', JWT_AUDIENCE: 'app' });

    expect(readAuthConfig()).toEqual({
      mode: 'hs256',
      secret: { kind: 'secretsManager', secretId: 'parley/jwt' },
      issuer: 'parley',
      audience: 'app',
    });
  });

  it('uses a JWKS with its issuer and audience', () => {
    environment({
      JWKS_URL: 'https://id.example/jwks.json',
      JWT_ISSUER: 'https://id.example/',
      JWT_AUDIENCE: 'a',
    });

    expect(readAuthConfig()).toEqual({
      mode: 'jwks',
      jwksUrl: new URL('https://id.example/jwks.json'),
      issuer: 'https://id.example/',
      audience: 'a',
    });
  });

  it.each([
    ['no verification mode at all', {}, /JWT_SECRET/],
    ['a JWKS without an issuer', { JWKS_URL: 'https://id.example/jwks', JWT_AUDIENCE: 'a' }, /JWT_ISSUER/],
    ['a JWKS without an audience', { JWKS_URL: 'https://id.example/jwks', JWT_ISSUER: 'i' }, /JWT_AUDIENCE/],
    [
      'a JWKS URL that is not a URL',
      { JWKS_URL: 'jwks.json', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' },
      /JWKS_URL/,
    ],
    [
      'a JWKS over plain http',
      { JWKS_URL: 'http://id.example/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' },
      /https/,
    ],
    ['both a JWKS and a secret', { JWKS_URL: 'https://id.example/jwks', JWT_SECRET: 's' }, /JWKS_URL/],
    ['both a secret and a secret id', { JWT_SECRET: 's', JWT_SECRET_ID: 'id' }, /JWT_SECRET_ID/],
  ])('refuses %s', (_case, values, message) => {
    environment(values);

    expect(() => readAuthConfig()).toThrowError(message);
  });
});

describe('the authorizer module', () => {
  it('fails at import (cold start) when no verification mode is configured', async () => {
    vi.resetModules();
    environment({});

    await expect(import('../../../functions/authorizer/authorizer.ts')).rejects.toThrowError(/JWT_SECRET/);
  });
});
