/**
 * The documentation's links and citations hold: in README.md, client/README.md and every docs/*.md,
 * each relative link `[text](path)` or `[text](path#anchor)` names a file or folder of the repository,
 * each anchor (`#anchor` alone or after a path) matches a heading of its target under GitHub's slug
 * rules, and each repository path cited in backticks (`functions/routes/sync.ts`, `local/demo/`) exists
 * and is not a generated, git-ignored one. Every alarm of lib/constructs/operations.ts has its runbook
 * heading in docs/deploy.md (each alarm's description sends the operator there), and every route of
 * definitions/routes.ts has its row in docs/protocol.md's table of routes. Readers come with one
 * question and follow one link: a link that goes nowhere is a dead end.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../../definitions/routes.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The first folder of every path the docs may cite in backticks. */
const CITED_ROOTS = [
  'bin/',
  'lib/',
  'definitions/',
  'functions/',
  'local/',
  'client/',
  'admin/',
  'bench/',
  'test/',
  'scripts/',
  'docs/',
  'examples/',
  '.ci/',
];

const DOC_FILES = [
  'README.md',
  'client/README.md',
  'examples/send-hook/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** Folders .gitignore leaves out (`client/dist/`): what is built or written there is not in the repository. */
const IGNORED_FOLDERS = readFileSync(join(ROOT, '.gitignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line.endsWith('/') && !line.startsWith('#') && !/[*?[!]/.test(line))
  .map((line) => line.replace(/^\//, ''));

/**
 * GitHub's anchor for a heading: the rendered text (inline code keeps its content, links their text,
 * emphasis markers go), lowercased, every character that is not a letter, a digit, a space, a hyphen or
 * an underscore removed, then each space turned into a hyphen. A repeated heading gets `-1`, `-2`, ….
 */
function slugOf(heading: string): string {
  // Odd parts are code spans, kept as they are; markdown is taken out of the others.
  const rendered = heading
    .split(/`+/)
    .map((part, index) =>
      index % 2 === 1 ? part : part.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/\*\*|__|\*/g, ''),
    )
    .join('');
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/**
 * The text with fenced code blocks blanked out, newlines kept (so indexes still give line numbers): a `#`
 * or a `[x](y)` inside a code block is not markdown.
 */
function prose(text: string): string {
  let fence: string | undefined;
  return text
    .split('\n')
    .map((line) => {
      const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
      if (marker !== undefined) {
        if (fence === undefined) fence = marker;
        else if (marker.startsWith(fence)) fence = undefined;
        return '';
      }
      return fence === undefined ? line : '';
    })
    .join('\n');
}

function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(text).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = slugOf(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Inline code spans (single or double backticks, possibly over a line break). */
const CODE_SPAN = /(`+)([\s\S]+?)\1/g;
/** A markdown link `[text](target)` or `[text](target "title")`; its text may wrap. */
const LINK = /\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

interface Problem {
  line: number;
  problem: string;
}

function checkDocument(file: string): Problem[] {
  const text = prose(readFileSync(join(ROOT, file), 'utf8'));
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const problems: Problem[] = [];
  for (const match of text.matchAll(CODE_SPAN)) {
    const problem = checkCitedPath((match[2] ?? '').trim());
    if (problem !== undefined) problems.push({ line: lineAt(match.index), problem });
  }
  // Code spans blanked out first (same length, newlines kept): `[x](y)` in backticks is not a link.
  const withoutCode = text.replace(CODE_SPAN, (span) => span.replace(/[^\n]/g, ' '));
  for (const match of withoutCode.matchAll(LINK)) {
    const problem = checkLink(file, match[1] ?? '');
    if (problem !== undefined) problems.push({ line: lineAt(match.index), problem });
  }
  return problems.sort((a, b) => a.line - b.line);
}

function checkLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:: not the repository's
  const [path = '', anchor] = target.split('#', 2);
  const resolved = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path));
  const shown = relative(ROOT, resolved);
  if (shown.startsWith('..')) return `[${target}]: leaves the repository`;
  if (!existsSync(resolved)) return `[${target}]: ${shown} does not exist`;
  if (anchor === undefined) return undefined;
  if (!resolved.endsWith('.md') || statSync(resolved).isDirectory()) {
    return `[${target}]: an anchor into ${shown}, which is not a markdown file`;
  }
  if (!anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
    return `[${target}]: ${shown} has no heading whose anchor is #${anchor}`;
  }
  return undefined;
}

function checkCitedPath(span: string): string | undefined {
  if (!CITED_ROOTS.some((root) => span.startsWith(root))) return undefined;
  if (/[*{…\s]/.test(span)) return undefined; // a pattern or a command, not one path
  if (!existsSync(join(ROOT, span))) return `\`${span}\` does not exist`;
  const ignored = IGNORED_FOLDERS.find((folder) => span.startsWith(folder));
  if (ignored !== undefined) return `\`${span}\` is under ${ignored}, which .gitignore leaves out`;
  return undefined;
}

describe('the GitHub slug of a heading', () => {
  it.each([
    ['Runbook: what each alarm means', 'runbook-what-each-alarm-means'],
    ['Catch-up (protocol 1.2)', 'catch-up-protocol-12'],
    ['`{function}-errors`', 'function-errors'],
    ['`delivery-on-failure-queue`', 'delivery-on-failure-queue'],
    ['`GET /_local/stream`', 'get-_localstream'],
    ['The `$connect` window', 'the-connect-window'],
    ['Bundle sizes and cold start', 'bundle-sizes-and-cold-start'],
    ['Cost of one million 1:1 messages', 'cost-of-one-million-11-messages'],
    ['What it costs at idle, in US$', 'what-it-costs-at-idle-in-us'],
    ['Two users in two **terminals**', 'two-users-in-two-terminals'],
    ['See [Tokens](local-stack.md#tokens)', 'see-tokens'],
    ['snake_case and kebab-case', 'snake_case-and-kebab-case'],
    ['`__proto__` keys', '__proto__-keys'],
  ])('of %s is #%s', (heading, slug) => {
    // GIVEN a heading with backticks, dots, parentheses, colons, slashes or `$`
    // WHEN it is slugged
    // THEN it matches the anchor GitHub gives it
    expect(slugOf(heading)).toBe(slug);
  });

  it('numbers a repeated heading as GitHub does', () => {
    // GIVEN the same heading twice, and a heading inside a code block
    const text = '# Tests\n\n```sh\n# Tests\n```\n\n## Tests\n';
    // WHEN its anchors are listed
    // THEN the second is #tests-1 and the code block adds none
    expect([...anchorsOf(text)]).toEqual(['tests', 'tests-1']);
  });
});

describe('the documentation', () => {
  it('is the front page, the client README and the docs pages', () => {
    // GIVEN the documents this test reads
    // THEN the docs folder has pages and the front page stays a front page
    expect(DOC_FILES.length).toBeGreaterThan(2);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(
      200,
    );
  });

  it.each(DOC_FILES)('%s: every link, anchor and cited path resolves', (file) => {
    // GIVEN one document
    // WHEN its links, anchors and backticked repository paths are resolved
    const problems = checkDocument(file).map(({ line, problem }) => `${file}:${line}: ${problem}`);
    // THEN each names something that exists
    expect(problems).toEqual([]);
  });

  it('has a runbook heading in docs/deploy.md for every alarm', () => {
    // GIVEN the alarm ids lib/constructs/operations.ts creates (per function: `{function}-errors`, …)
    const source = readFileSync(join(ROOT, 'lib', 'constructs', 'operations.ts'), 'utf8');
    const ids = [...source.matchAll(/this\.alarm\(\s*[`']([^`']+)[`']/g)].map((match) =>
      (match[1] ?? '').replace(/\$\{name\}/, '{function}'),
    );
    expect(ids.length).toBeGreaterThan(10);
    // WHEN the runbook's headings are listed
    const anchors = anchorsOf(readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8'));
    // THEN each alarm has its own, as its description promises
    expect(ids.filter((id) => !anchors.has(slugOf(`\`${id}\``)))).toEqual([]);
  });

  it('has a row in docs/protocol.md for every route of definitions/routes.ts', () => {
    // GIVEN the table rows of docs/protocol.md
    const rows = readFileSync(join(ROOT, 'docs', 'protocol.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    // WHEN each route key is looked for in a row's first cell
    const missing = ROUTES.map((route) => route.routeKey).filter(
      (key) => !rows.some((row) => (row.split('|')[1] ?? '').includes(`\`${key}\``)),
    );
    // THEN none is missing
    expect(missing).toEqual([]);
  });
});
