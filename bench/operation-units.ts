/**
 * What each operation costs, for bench-results.json (`OperationFigures`, bench/results.ts) and the
 * summary table that ends the units output. Every counted phase keeps its DynamoDB calls and how many
 * PostToConnection and SNS Publish calls the stub saw while it ran; an operation is the sum of the
 * phases it is made of (a send and the delivery of its stream record, say).
 */
import type { CapacityRecorder, RecordedCall } from './capacity-recorder.ts';
import type { ManagementApiStub } from './management-api-stub.ts';
import type { OperationFigures } from './results.ts';
import { heading, textTable } from './text-table.ts';

export interface Phase {
  readonly name: string;
  readonly calls: RecordedCall[];
  readonly posts: number;
  readonly snsPublish: number;
}

export class PhaseCounter {
  readonly #recorder: CapacityRecorder;
  readonly #stub: ManagementApiStub;
  readonly #phases = new Map<string, Phase>();

  constructor(recorder: CapacityRecorder, stub: ManagementApiStub) {
    this.#recorder = recorder;
    this.#stub = stub;
  }

  /** Counts `run` as the phase `name` (each name once), and returns what `run` returned. */
  async count<T>(name: string, run: () => Promise<T>): Promise<T> {
    if (this.#phases.has(name)) throw new Error(`phase counted twice: ${name}`);
    const posts = this.#stub.posted.length;
    const publishes = this.#publishes();
    const result = await this.#recorder.during(name, run);
    this.#phases.set(name, {
      name,
      calls: this.#recorder.callsOf(name),
      posts: this.#stub.posted.length - posts,
      snsPublish: this.#publishes() - publishes,
    });
    return result;
  }

  phase(name: string): Phase {
    const phase = this.#phases.get(name);
    if (phase === undefined) throw new Error(`phase not counted: ${name}`);
    return phase;
  }

  /** The sum of the phases `names`. */
  operation(...names: readonly string[]): OperationFigures {
    let wru = 0;
    let rru = 0;
    let requests = 0;
    let postToConnection = 0;
    let snsPublish = 0;
    for (const phase of names.map((name) => this.phase(name))) {
      for (const call of phase.calls) {
        if (call.billed.kind === 'read') rru += call.billed.read.units;
        else wru += call.billed.write.units;
      }
      requests += phase.calls.length;
      postToConnection += phase.posts;
      snsPublish += phase.snsPublish;
    }
    return { wru, rru, requests, postToConnection, snsPublish };
  }

  #publishes(): number {
    return this.#stub.snsActions.filter((action) => action === 'Publish').length;
  }
}

const units = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));

export function printOperations(operations: Readonly<Record<string, OperationFigures>>): string {
  const rows = Object.entries(operations).map(([name, figures]) => [
    name,
    units(figures.wru),
    units(figures.rru),
    String(figures.requests),
    String(figures.postToConnection),
    String(figures.snsPublish),
  ]);
  return [
    heading('Per operation, as AWS bills it (returned as `operations`)'),
    'Sums of the phases above: a message, a group’s creation or a connection change with the delivery of',
    'its stream record (markRead and its delivery apart); connect/disconnect with 1 contact, or 500.',
    '',
    textTable(['operation', 'WRU', 'RRU', 'DynamoDB requests', 'PostToConnection', 'SNS Publish'], rows, [
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
    ]),
    '',
  ].join('\n');
}
