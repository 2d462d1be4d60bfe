/**
 * `Promise.all` over `items` with at most `limit` calls in flight: a message to a large group, or a user
 * with many connections, must not open hundreds of sockets at once and trip throttling or the Lambda's
 * connection limits. Results keep the order of `items`; the first rejection rejects the whole call,
 * as with `Promise.all` (callers that must try every item catch inside `fn`).
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
