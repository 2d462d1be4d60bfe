/**
 * `npm run -s token -- alice [--name "Alice"] [--ttl 3600]`: a JWT the local stack accepts, signed
 * HS256 with the local secret (`JWT_SECRET`, default `parley-local-secret`), with `sub`, `name`, `iat`,
 * `exp` and `jti` (and `iss` / `aud` when `JWT_ISSUER` / `JWT_AUDIENCE` are set). Prints only the token.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { DEFAULT_JWT_SECRET } from './stack.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, ttl: { type: 'string', default: '3600' } },
});
const userId = positionals[0];
const ttl = Number(values.ttl);
if (userId === undefined || !/^[A-Za-z0-9_.:@-]{1,64}$/.test(userId) || !Number.isInteger(ttl) || ttl <= 0) {
  process.stderr.write('Usage: npm run -s token -- <userId> [--name "Display Name"] [--ttl seconds]\n');
  process.stderr.write('userId: 1-64 characters of A-Z a-z 0-9 _ . : @ -\n');
  process.exit(2);
}

const secret = new TextEncoder().encode(process.env.JWT_SECRET || DEFAULT_JWT_SECRET);
let jwt = new SignJWT(values.name === undefined ? {} : { name: values.name })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(userId)
  .setIssuedAt()
  .setExpirationTime(`${ttl}s`)
  .setJti(randomUUID());
if (process.env.JWT_ISSUER) jwt = jwt.setIssuer(process.env.JWT_ISSUER);
if (process.env.JWT_AUDIENCE) jwt = jwt.setAudience(process.env.JWT_AUDIENCE);
process.stdout.write(`${await jwt.sign(secret)}\n`);
