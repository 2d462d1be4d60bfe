/**
 * `npm run -s token -- alice [--name "Alice"] [--ttl 3600]`: a JWT the local stack accepts, signed
 * HS256 with the local secret (`JWT_SECRET`, default `parley-local-secret`), with `sub`, `name`, `iat`,
 * `exp` and `jti` (and `iss` / `aud` when `JWT_ISSUER` / `JWT_AUDIENCE` are set). Prints only the token
 * on stdout, so `TOKEN=$(npm run -s token -- alice)` captures it; anything else goes to stderr with a
 * non-zero exit, so a failed command substitution never passes for an empty token.
 */
import { isUserId } from '../functions/domain/identifiers.ts';
import { runCommandLine, UsageError, wholeNumber } from './cli.ts';
import { signDevToken } from './dev-token.ts';
import { DEFAULT_JWT_SECRET } from './jwt-secret.ts';

const { userId, name, ttl } = runCommandLine(
  {
    name: 'token',
    command: 'npm run -s token --',
    usage: '<userId> [--name "Display Name"] [--ttl SECONDS]',
    details: `Prints a JWT for the local stack (HS256 with JWT_SECRET, default ${DEFAULT_JWT_SECRET}).

  <userId>        1-64 characters of A-Z a-z 0-9 _ . : @ -
  --name NAME     display name (the token's name claim, used in push titles)
  --ttl SECONDS   lifetime, default 3600
  JWT_ISSUER, JWT_AUDIENCE in the environment add iss / aud.

  TOKEN=$(npm run -s token -- alice --name Alice) && echo "$TOKEN"
`,
    options: { name: { type: 'string' }, ttl: { type: 'string' } },
    positionals: { min: 1, max: 1 },
  },
  (values, positionals) => {
    const id = positionals[0] ?? '';
    if (!isUserId(id)) {
      throw new UsageError(`userId "${id}" must be 1-64 characters of A-Z a-z 0-9 _ . : @ -`);
    }
    return { userId: id, name: values.name, ttl: wholeNumber('--ttl', values.ttl, 3600, { min: 1 }) };
  },
);

try {
  process.stdout.write(`${await signDevToken(userId, { name, ttlSeconds: ttl })}\n`);
} catch (error) {
  process.stderr.write(`token: could not sign: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
