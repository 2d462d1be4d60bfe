/**
 * `npm start --dynamodb-endpoint` and `--table`: refused with one line and exit code 2 before anything
 * starts when malformed or combined with the options of an emulator the stack would start itself. (The
 * end-to-end suite runs every stack with both, through PARLEY_DYNAMODB_ENDPOINT and PARLEY_TABLE.)
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
    env: { ...process.env, PARLEY_DYNAMODB_ENDPOINT: '', PARLEY_TABLE: '', ...env },
  });

describe('npm start --dynamodb-endpoint and --table', () => {
  it.each([
    [
      ['--dynamodb-endpoint', '127.0.0.1:8000'],
      {},
      '--dynamodb-endpoint must be a URL such as http://127.0.0.1:8000, got "127.0.0.1:8000"',
    ],
    [
      [],
      { PARLEY_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000/some/path' },
      '--dynamodb-endpoint must be a URL such as http://127.0.0.1:8000, got "http://127.0.0.1:8000/some/path"',
    ],
    [
      ['--dynamodb-endpoint', 'http://127.0.0.1:8000', '--persist', '/tmp/data'],
      {},
      '--dynamodb-endpoint names a running DynamoDB Local: --persist and --dynamodb-port are for one the stack starts',
    ],
    [['--table', 'a b'], {}, `--table must be 3 to 255 letters, digits, '_', '-' or '.', got "a b"`],
    [[], { PARLEY_TABLE: 'xy' }, `--table must be 3 to 255 letters, digits, '_', '-' or '.', got "xy"`],
  ])('refuses %j %j with one line and exit code 2', (args, env, line) => {
    const result = start(args, env);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`npm start: ${line}\n${USAGE}`);
    expect(result.stdout).toBe('');
  });

  it('lists both in --help', () => {
    const help = start(['--help']).stdout;
    expect(help).toContain('--dynamodb-endpoint U');
    expect(help).toContain('--table NAME');
  });
});
