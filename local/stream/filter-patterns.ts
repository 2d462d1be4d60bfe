/**
 * Lambda event filtering for the stream consumer: a record reaches the handler when it matches any of
 * the patterns (an empty list lets everything through). This implements the part of the filter grammar
 * Parley uses, exact values of nested fields: `{ field: [v1, v2] }` matches when the field equals one of
 * the values (or, for a list field, contains one), `{ field: { … } }` descends. Content filters such as
 * `prefix` or `numeric` are refused at startup rather than silently mismatched.
 */
export type FilterPattern = Readonly<Record<string, unknown>>;
export type RecordFilter = (record: unknown) => boolean;

type Scalar = string | number | boolean | null;

export function compileFilters(patterns: readonly FilterPattern[]): RecordFilter {
  for (const pattern of patterns) validate(pattern, '');
  if (patterns.length === 0) return () => true;
  return (record) => patterns.some((pattern) => matches(pattern, record));
}

function validate(pattern: FilterPattern, path: string): void {
  for (const [key, expected] of Object.entries(pattern)) {
    const where = path ? `${path}.${key}` : key;
    if (Array.isArray(expected)) {
      if (!expected.every(isScalar)) {
        throw new Error(
          `Filter pattern at ${where}: only exact values are supported locally, got ${JSON.stringify(expected)}`,
        );
      }
    } else if (isRecord(expected)) {
      validate(expected, where);
    } else {
      throw new Error(`Filter pattern at ${where} must be a list of values or an object`);
    }
  }
}

function matches(pattern: FilterPattern, value: unknown): boolean {
  if (!isRecord(value)) return false;
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = value[key];
    if (Array.isArray(expected)) {
      const candidates = Array.isArray(actual) ? actual : [actual];
      return candidates.some(
        (candidate) => isScalar(candidate) && (expected as Scalar[]).includes(candidate),
      );
    }
    return matches(expected as FilterPattern, actual);
  });
}

function isScalar(value: unknown): value is Scalar {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
