/**
 * The shared command line helper: `--help`, unknown options, missing and bad values answered with a
 * message and the usage line, never node:util's exceptions. Plus token.ts run as a process, the way
 * `$(npm run -s token -- alice)` runs it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CommandLine, parseCommandLine, UsageError, wholeNumber } from '../../../local/cli.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

const spec = {
  name: 'tool',
  command: 'npm run -s tool --',
  usage: '<userId> [--ttl SECONDS] [--verbose]',
  details: '  --ttl SECONDS   lifetime\n',
  options: { ttl: { type: 'string' }, verbose: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
} as const satisfies CommandLine<{ ttl: { type: 'string' }; verbose: { type: 'boolean' } }>;

const USAGE = 'Usage: npm run -s tool -- <userId> [--ttl SECONDS] [--verbose] (--help for more)\n';

describe('parseCommandLine', () => {
  it('parses options and positionals', () => {
    expect(parseCommandLine(spec, ['alice', '--ttl', '60', '--verbose'])).toEqual({
      kind: 'ok',
      values: { ttl: '60', verbose: true },
      positionals: ['alice'],
    });
  });

  it.each([
    ['--help'],
    ['-h'],
    ['alice', '--help'],
    ['--bogus', '--help'],
  ])('answers %s with the usage text', (...argv) => {
    expect(parseCommandLine(spec, argv)).toEqual({
      kind: 'help',
      text: 'Usage: npm run -s tool -- <userId> [--ttl SECONDS] [--verbose]\n\n  --ttl SECONDS   lifetime\n',
    });
  });

  it.each([
    [['alice', '--bogus'], 'tool: unknown option --bogus\n'],
    [['alice', '-x'], 'tool: unknown option -x\n'],
    [['alice', '--ttl'], 'tool: option --ttl needs a value\n'],
    [['alice', '--ttl', '--verbose'], 'tool: option --ttl needs a value\n'],
    [['alice', '--verbose=yes'], 'tool: option --verbose takes no value\n'],
    [['alice', 'bob'], 'tool: unexpected argument "bob"\n'],
    [[], 'tool: missing <userId>\n'],
  ])('refuses %j with one line and the usage line', (argv, line) => {
    expect(parseCommandLine(spec, argv)).toEqual({ kind: 'error', text: `${line}${USAGE}` });
  });

  it('refuses positionals when the command takes none', () => {
    const outcome = parseCommandLine({ ...spec, positionals: undefined }, ['stray']);
    expect(outcome).toMatchObject({
      kind: 'error',
      text: expect.stringMatching(/^tool: unexpected argument "stray"\n/),
    });
  });
});

describe('wholeNumber', () => {
  it('reads a whole number within bounds, and the fallback when absent or empty', () => {
    expect(wholeNumber('--ttl', '60', 3600, { min: 1 })).toBe(60);
    expect(wholeNumber('--ttl', undefined, 3600)).toBe(3600);
    expect(wholeNumber('--ttl', '', 3600)).toBe(3600);
  });

  it.each(['x', '1.5', '-1', '1e3', '0x10', ' ', '65536'])('refuses "%s"', (raw) => {
    expect(() => wholeNumber('--port', raw, 0, { max: 65_535 })).toThrowError(UsageError);
  });
});

describe('npm run token (local/token.ts)', () => {
  const token = (...args: string[]) =>
    spawnSync(process.execPath, ['local/token.ts', ...args], { cwd: ROOT, encoding: 'utf8' });

  it('prints only a JWT on stdout', () => {
    const result = token('alice', '--name', 'Alice', '--ttl', '60');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(result.stderr).toBe('');
  });

  it('answers --help on stdout with exit 0', () => {
    const result = token('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run -s token -- <userId>/);
    expect(result.stderr).toBe('');
  });

  it('refuses an unknown option with exit 2, one line and the usage line on stderr, nothing on stdout', () => {
    const result = token('alice', '--nme', 'Alice');
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'token: unknown option --nme\nUsage: npm run -s token -- <userId> [--name "Display Name"] [--ttl SECONDS] (--help for more)\n',
    );
  });

  it('refuses a bad ttl and a missing user id the same way', () => {
    for (const args of [['alice', '--ttl', 'soon'], []]) {
      const result = token(...args);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.split('\n')).toHaveLength(3);
    }
  });
});
