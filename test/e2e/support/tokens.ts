/** A token the local stack accepts (HS256 with its default secret), valid for an hour. */
import { SignJWT } from 'jose';
import { DEFAULT_JWT_SECRET } from '../../../local/stack.ts';

export function localToken(sub: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(DEFAULT_JWT_SECRET));
}
