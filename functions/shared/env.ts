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
