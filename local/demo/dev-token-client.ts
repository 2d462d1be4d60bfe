/// <reference lib="dom" />
/** The demo page's side of `POST /_local/dev-token` (local/dev-token-route.ts). */

export async function fetchDevToken(userId: string): Promise<string> {
  const response = await fetch('/_local/dev-token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userId, name: userId }),
    cache: 'no-store',
  });
  const body = (await response.json().catch(() => ({}))) as { token?: unknown; message?: unknown };
  if (response.ok && typeof body.token === 'string') return body.token;
  throw new Error(
    typeof body.message === 'string' ? body.message : `the local stack answered ${response.status}`,
  );
}
