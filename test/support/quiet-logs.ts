/**
 * Setup file of every suite: drops the handlers' JSON log lines (`functions/shared/logger.ts` writes
 * them with `process.stdout.write`) so that the errors tests provoke on purpose ("request failed",
 * "record failed") do not bury the test report. `PARLEY_TEST_LOGS=1 npx vitest run ...` shows them.
 *
 * The filter replaces `process.stdout.write` with a plain function rather than a spy, so a test that
 * asserts on log lines (`vi.spyOn(process.stdout, 'write')`) wraps it, sees every line, and its
 * `mockRestore()` brings the filter back. Anything that is not a logger line passes through.
 */
const show = process.env.PARLEY_TEST_LOGS === '1';
const LOG_LINE = /^\{"level":"(?:debug|info|warn|error)","message":/;

if (!show) {
  const write = process.stdout.write;
  const quiet = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const text =
      typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8', 0, 40) : '';
    if (LOG_LINE.test(text)) {
      const done = rest.find((argument) => typeof argument === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  };
  process.stdout.write = quiet as typeof process.stdout.write;
}
