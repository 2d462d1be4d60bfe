/**
 * `npm start --contact-policy` (protocol.md 1.2, "Who may talk to whom"): `open` or `requests`, from the
 * flag or CONTACT_POLICY, anything else refused with one line and exit code 2 before anything starts.
 * (test/e2e/message-requests.test.ts runs a stack with `--contact-policy requests`.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const USAGE = 'Usage: npm start -- [options] (--help for more)\n';

const start = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['local/start.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CONTACT_POLICY: '', ...env },
  });

describe('npm start --contact-policy', () => {
  it.each([
    [['--contact-policy', 'friends'], {}, 'got "friends"'],
    [['--contact-policy', ''], {}, 'got ""'],
    [[], { CONTACT_POLICY: 'closed' }, 'got "closed"'],
  ])('refuses %j %j with one line and exit code 2', (args, env, got) => {
    const result = start(args, env);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `npm start: --contact-policy (CONTACT_POLICY) must be open or requests, ${got}\n${USAGE}`,
    );
    expect(result.stdout).toBe('');
  });

  it('lists it in --help with its default', () => {
    const help = start(['--help']).stdout;
    expect(help).toContain('--contact-policy P');
    expect(help).toContain('env CONTACT_POLICY, default open');
  });
});
