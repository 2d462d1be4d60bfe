/**
 * `/_local/faults`: read, replace and switch off the fault plan while the stack runs.
 * - `GET` answers the plan, its `--faults` form, the seed, what count rules have left and how many
 *   faults of each class were injected since the plan was set.
 * - `PUT` replaces the plan: JSON `{"faults": {"post": {"count": 3, "answers": [500]}}, "seed": 7}`
 *   (`seed` optional: without it the generator runs on; the rules may also stand at the top level,
 *   `{"post": {"count": 3}}`), or a body in the `--faults` form (`post=3:500,lose=2%`). A bad plan is
 *   answered 400 with what is wrong, and changes nothing.
 * - `DELETE` switches every fault off and answers the final counts.
 */
import { json, type LocalResponse, type LocalRoutes } from '../http/local-routes.ts';
import { localLog } from '../log.ts';
import {
  checkFaultSpec,
  type FaultPlan,
  type FaultSpec,
  FaultSpecError,
  parseFaultSpec,
} from './fault-plan.ts';

export const FAULTS_PATH = '/_local/faults';

export function addFaultRoutes(routes: LocalRoutes, plan: FaultPlan): void {
  routes
    .add('GET', FAULTS_PATH, () => json(200, plan.snapshot()))
    .add('PUT', FAULTS_PATH, ({ body }) => {
      let parsed: { spec: FaultSpec; seed?: number };
      try {
        parsed = parseBody(body.toString('utf8'));
      } catch (error) {
        if (error instanceof FaultSpecError) return json(400, { message: error.message });
        throw error;
      }
      plan.replace(parsed.spec, parsed.seed);
      const snapshot = plan.snapshot();
      localLog.info(`faults set: ${snapshot.spec || 'none'} (seed ${snapshot.seed})`);
      return json(200, snapshot);
    })
    .add('DELETE', FAULTS_PATH, (): LocalResponse => {
      plan.clear();
      localLog.info('faults off');
      return json(200, plan.snapshot());
    });
}

function parseBody(text: string): { spec: FaultSpec; seed?: number } {
  if (!text.trimStart().startsWith('{')) return { spec: parseFaultSpec(text) };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FaultSpecError('the body is neither JSON nor a --faults spec');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FaultSpecError('the body is a JSON object: {"faults": {...}, "seed"?: n}');
  }
  // The rules under "faults" (as GET answers them), or, for short, at the top level beside "seed".
  const { faults, seed, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (faults !== undefined && extra !== undefined) {
    throw new FaultSpecError(`unknown field "${extra}": the body is {"faults": {...}, "seed"?: n}`);
  }
  if (
    seed !== undefined &&
    (!Number.isSafeInteger(seed) || (seed as number) < 0 || (seed as number) >= 2 ** 32)
  ) {
    throw new FaultSpecError(`seed is a whole number from 0 to ${2 ** 32 - 1}, got ${JSON.stringify(seed)}`);
  }
  return { spec: checkFaultSpec(faults ?? rest), ...(seed !== undefined && { seed: seed as number }) };
}
