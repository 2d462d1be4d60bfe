/**
 * Environment access for handler modules. Each module reads what it needs once, at module scope, so
 * a misconfigured function fails at cold start with a message naming the variable, not on the first
 * request that happens to need it.
 */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`Environment variable ${name} is required but not set`);
  }
  return value;
}

export function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A whole number ≥ 1, or `fallback` when unset; anything else fails at cold start, naming the variable. */
export function positiveIntegerEnv(name: string, fallback: number): number {
  const raw = optionalEnv(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`Environment variable ${name} must be a whole number of at least 1, got "${raw}"`);
  }
  return value;
}
