/**
 * Which faults the local stack injects right now, and how many it has injected. Each fault class has
 * either a rate (a fraction of its calls, drawn from a seeded generator, so `--fault-seed` repeats a
 * run's draws) or a count (the next n calls), and, for classes that can fail in several ways, the
 * answers to choose from. Nothing here touches the handlers: the local stack's own parts (the DynamoDB
 * proxy, `@connections`, the fake SNS, the stream poller, the gateway) ask the plan before each call.
 * With no rule for a class, asking costs a map lookup and draws nothing.
 */

/** Every fault class and the answers it can give (none: the fault has one form). */
export const FAULT_ANSWERS = {
  dynamodb: ['ProvisionedThroughputExceededException', 'ThrottlingException', 'InternalServerError'],
  post: [500, 429, 410],
  sns: ['InternalError', 'EndpointDisabled'],
  'delivery-crash': [],
  'delivery-timeout': [],
  lose: [],
} as const;

export type FaultClass = keyof typeof FAULT_ANSWERS;
export const FAULT_CLASSES = Object.keys(FAULT_ANSWERS) as FaultClass[];

/** What an injected fault of this class is: one of its answers, or `true` for a class without answers. */
export type FaultAnswer<C extends FaultClass> = (typeof FAULT_ANSWERS)[C] extends readonly []
  ? true
  : (typeof FAULT_ANSWERS)[C][number];
type AnyAnswer = (typeof FAULT_ANSWERS)[FaultClass][number];

/** One class's rule: `rate` in 0..1 or `count` of the next calls; `answers` default to all of the class's. */
export type FaultRule =
  | { readonly rate: number; readonly answers?: readonly AnyAnswer[] }
  | { readonly count: number; readonly answers?: readonly AnyAnswer[] };

export type FaultSpec = { readonly [C in FaultClass]?: FaultRule };

/** A spec or plan that cannot be used; the message says what is wrong and what is allowed. */
export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

export interface FaultPlanSnapshot {
  /** Whether any rule can still inject something. */
  readonly active: boolean;
  readonly seed: number;
  /** The plan as set (`PUT /_local/faults` takes this object back). */
  readonly faults: FaultSpec;
  /** The same in the `--faults` form. */
  readonly spec: string;
  /** Calls still to fail, for count rules. */
  readonly remaining: { readonly [C in FaultClass]?: number };
  /** Faults injected since the plan was last set, by class (DELETE keeps them for a final report). */
  readonly injected: Readonly<Record<FaultClass, number>>;
}

interface ActiveRule {
  readonly rule: FaultRule;
  readonly answers: readonly AnyAnswer[];
  remaining: number;
}

export class FaultPlan {
  readonly #rules = new Map<FaultClass, ActiveRule>();
  #injected = zeroCounts();
  #seed: number;
  #random: () => number;

  constructor(spec: FaultSpec = {}, seed: number = randomSeed()) {
    this.#seed = seed;
    this.#random = mulberry32(seed);
    this.replace(spec);
  }

  get seed(): number {
    return this.#seed;
  }

  get active(): boolean {
    return [...this.#rules.values()].some(canFire);
  }

  /** Sets a new plan (checked first: a bad one changes nothing) and zeroes the injected counts. */
  replace(spec: FaultSpec, seed?: number): void {
    const checked = checkFaultSpec(spec);
    this.#rules.clear();
    for (const faultClass of FAULT_CLASSES) {
      const rule = checked[faultClass];
      if (rule === undefined) continue;
      const answers = rule.answers ?? FAULT_ANSWERS[faultClass];
      this.#rules.set(faultClass, { rule, answers, remaining: 'count' in rule ? rule.count : 0 });
    }
    this.#injected = zeroCounts();
    if (seed !== undefined) {
      this.#seed = seed;
      this.#random = mulberry32(seed);
    }
  }

  /** Every fault off; the counts stay readable until the next `replace`. */
  clear(): void {
    this.#rules.clear();
  }

  /**
   * Whether this call of `faultClass` fails, and how: undefined for no fault. `eligible` keeps the
   * answers that make sense for this particular call (an `EndpointDisabled` only for a push to an
   * endpoint); a call for which none is eligible is not counted against a count rule.
   */
  next<C extends FaultClass>(
    faultClass: C,
    eligible?: (answer: FaultAnswer<C>) => boolean,
  ): FaultAnswer<C> | undefined {
    const active = this.#rules.get(faultClass);
    if (active === undefined) return undefined;
    // A class without answers has one kind of fault, `true`.
    const all = (active.answers.length === 0 ? [true] : active.answers) as FaultAnswer<C>[];
    const answers = eligible === undefined ? all : all.filter(eligible);
    if (answers.length === 0) return undefined;
    if ('count' in active.rule) {
      if (active.remaining <= 0) return undefined;
      active.remaining -= 1;
    } else if (!(this.#random() < active.rule.rate)) {
      return undefined;
    }
    this.#injected[faultClass] += 1;
    return answers.length === 1 ? answers[0] : answers[Math.floor(this.#random() * answers.length)];
  }

  /** A number in [0, 1) from the plan's generator, for faults that need one (a timeout's moment). */
  random(): number {
    return this.#random();
  }

  snapshot(): FaultPlanSnapshot {
    const faults: Partial<Record<FaultClass, FaultRule>> = {};
    const remaining: Partial<Record<FaultClass, number>> = {};
    for (const [faultClass, active] of this.#rules) {
      faults[faultClass] = active.rule;
      if ('count' in active.rule) remaining[faultClass] = active.remaining;
    }
    return {
      active: this.active,
      seed: this.#seed,
      faults,
      spec: formatFaultSpec(faults),
      remaining,
      injected: { ...this.#injected },
    };
  }
}

function canFire(active: ActiveRule): boolean {
  return 'count' in active.rule ? active.remaining > 0 : active.rule.rate > 0;
}

function zeroCounts(): Record<FaultClass, number> {
  return Object.fromEntries(FAULT_CLASSES.map((faultClass) => [faultClass, 0])) as Record<FaultClass, number>;
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/** mulberry32: a small, fast 32-bit generator; the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const KNOWN_CLASSES = FAULT_CLASSES.join(', ');

function answerList(faultClass: FaultClass): string {
  const answers: readonly AnyAnswer[] = FAULT_ANSWERS[faultClass];
  return answers.map(String).join(', ');
}

/**
 * The `--faults` form: `class=rate%[:answer+answer…]` or `class=count[:answer+…]`, comma-separated,
 * e.g. `dynamodb=10%,post=15%:500+429+410,sns=3:EndpointDisabled,delivery-crash=10%,lose=2%`.
 * An empty spec is no faults.
 */
export function parseFaultSpec(text: string): FaultSpec {
  const spec: Partial<Record<FaultClass, FaultRule>> = {};
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of entries) {
    const match = /^([^=:]+)=([^:]*)(?::(.*))?$/.exec(entry);
    if (match === null) {
      throw new FaultSpecError(
        `"${entry}" is not class=rate% or class=count (for example dynamodb=10% or post=3:500)`,
      );
    }
    const [, rawClass = '', rawTrigger = '', rawAnswers] = match;
    const faultClass = rawClass.trim();
    if (!isFaultClass(faultClass)) {
      throw new FaultSpecError(`unknown fault class "${faultClass}" in "${entry}" (known: ${KNOWN_CLASSES})`);
    }
    if (spec[faultClass] !== undefined) throw new FaultSpecError(`${faultClass} is given twice`);
    const trigger = parseTrigger(faultClass, rawTrigger.trim());
    const answers = rawAnswers === undefined ? undefined : parseAnswers(faultClass, rawAnswers);
    spec[faultClass] = answers === undefined ? trigger : { ...trigger, answers };
  }
  return spec;
}

function parseTrigger(faultClass: FaultClass, raw: string): { rate: number } | { count: number } {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(raw)?.[1];
  if (percent !== undefined) {
    const rate = Number(percent) / 100;
    if (rate > 1) throw new FaultSpecError(`${faultClass}: a rate is from 0% to 100%, got ${raw}`);
    return { rate };
  }
  if (/^\d+$/.test(raw) && Number.isSafeInteger(Number(raw))) return { count: Number(raw) };
  throw new FaultSpecError(
    `${faultClass}: "${raw}" is neither a rate (10%, 0.5%) nor a count of the next calls (3)`,
  );
}

function parseAnswers(faultClass: FaultClass, raw: string): AnyAnswer[] {
  const allowed: readonly AnyAnswer[] = FAULT_ANSWERS[faultClass];
  if (allowed.length === 0) throw new FaultSpecError(`${faultClass} takes no answers, got ":${raw}"`);
  const answers: AnyAnswer[] = [];
  for (const word of raw.split('+').map((part) => part.trim())) {
    const answer = allowed.find((candidate) => String(candidate) === word);
    if (answer === undefined) {
      throw new FaultSpecError(
        `${faultClass}: unknown answer "${word}" (${faultClass} answers: ${answerList(faultClass)})`,
      );
    }
    if (!answers.includes(answer)) answers.push(answer);
  }
  return answers;
}

/** The plan as `PUT /_local/faults` takes it in JSON: checks every field and names the wrong one. */
export function checkFaultSpec(value: unknown): FaultSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FaultSpecError('faults must be an object from fault class to rule, e.g. {"post":{"count":3}}');
  }
  const spec: Partial<Record<FaultClass, FaultRule>> = {};
  for (const [faultClass, rawRule] of Object.entries(value)) {
    if (!isFaultClass(faultClass)) {
      throw new FaultSpecError(`unknown fault class "${faultClass}" (known: ${KNOWN_CLASSES})`);
    }
    if (rawRule === undefined) continue;
    spec[faultClass] = checkRule(faultClass, rawRule);
  }
  return spec;
}

function checkRule(faultClass: FaultClass, raw: unknown): FaultRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FaultSpecError(`${faultClass} must be {"rate": 0..1} or {"count": n}, with optional "answers"`);
  }
  const { rate, count, answers, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) {
    throw new FaultSpecError(`${faultClass}: unknown field "${extra}" (fields: rate or count, answers)`);
  }
  if ((rate === undefined) === (count === undefined)) {
    throw new FaultSpecError(`${faultClass} needs exactly one of "rate" (0..1) and "count" (whole number)`);
  }
  if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))) {
    throw new FaultSpecError(`${faultClass}: rate is a fraction from 0 to 1, got ${JSON.stringify(rate)}`);
  }
  if (count !== undefined && (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0)) {
    throw new FaultSpecError(`${faultClass}: count is a whole number, got ${JSON.stringify(count)}`);
  }
  const trigger = rate !== undefined ? { rate: rate as number } : { count: count as number };
  if (answers === undefined) return trigger;
  const allowed: readonly AnyAnswer[] = FAULT_ANSWERS[faultClass];
  if (allowed.length === 0) throw new FaultSpecError(`${faultClass} takes no answers`);
  if (!Array.isArray(answers) || answers.length === 0) {
    throw new FaultSpecError(`${faultClass}: answers is a non-empty list of ${answerList(faultClass)}`);
  }
  for (const answer of answers) {
    if (!allowed.includes(answer as AnyAnswer)) {
      throw new FaultSpecError(
        `${faultClass}: unknown answer ${JSON.stringify(answer)} (${faultClass} answers: ${answerList(faultClass)})`,
      );
    }
  }
  return { ...trigger, answers: [...new Set(answers as AnyAnswer[])] };
}

/** The `--faults` form of a plan, for the startup banner and `GET /_local/faults`. */
export function formatFaultSpec(spec: FaultSpec): string {
  return FAULT_CLASSES.flatMap((faultClass) => {
    const rule = spec[faultClass];
    if (rule === undefined) return [];
    const trigger = 'rate' in rule ? `${Number((rule.rate * 100).toFixed(6))}%` : String(rule.count);
    return [`${faultClass}=${trigger}${rule.answers ? `:${rule.answers.join('+')}` : ''}`];
  }).join(',');
}

function isFaultClass(name: string): name is FaultClass {
  return Object.hasOwn(FAULT_ANSWERS, name);
}
