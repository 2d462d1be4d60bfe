/**
 * Real-shaped event fixtures from test/fixtures/, parsed once and handed out as deep copies so a test
 * can edit its event without leaking the change into the next test.
 */
import { readFileSync } from 'node:fs';

const FIXTURES_DIR = new URL('../fixtures/', import.meta.url);
const parsed = new Map<string, unknown>();

/** `name` is the file name under test/fixtures/, with or without `.json`. */
export function loadFixture<T>(name: string): T {
  const file = name.endsWith('.json') ? name : `${name}.json`;
  let value = parsed.get(file);
  if (value === undefined) {
    value = JSON.parse(readFileSync(new URL(file, FIXTURES_DIR), 'utf8'));
    parsed.set(file, value);
  }
  return structuredClone(value) as T;
}
