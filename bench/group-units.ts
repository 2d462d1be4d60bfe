/**
 * Groups, measured like the 1:1 message (bench/request-units.ts runs this in the same process, with the
 * same DynamoDB Local, recorder and `@connections` stub): `createConversation` of 20 and of 100
 * members, the stream delivery of its `conversation` event, and a group message to 20 and to 100
 * (sendMessage + delivery), every member online on one connection. Informative: no budget covers
 * groups. Each phase is summed by operation rather than listed call by call (a group of 100 is 200
 * calls), with the PostToConnection count, and the wall time of one more delivery of a 100-member
 * message that nothing records (the recorder's own reads would otherwise be timed too).
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { RULES, type RuleId } from './billing.ts';
import type { RecordedCall } from './capacity-recorder.ts';
import type { ManagementApiStub } from './management-api-stub.ts';
import type { Phase, PhaseCounter } from './operation-units.ts';
import type { OperationFigures } from './results.ts';
import { heading, textTable } from './text-table.ts';

type Frame = Record<string, unknown>;
interface Who {
  userId: string;
  name: string;
  connectionId: string;
  deviceId: string;
}

export interface GroupBench {
  readonly counter: PhaseCounter;
  readonly stub: ManagementApiStub;
  /** The creator, already connected. */
  readonly creator: Who;
  connect(who: Who): Promise<void>;
  createConversation(who: Who, frame: Frame): Promise<Frame | undefined>;
  sendMessage(who: Who, frame: Frame): Promise<Frame | undefined>;
  /** Finds the stream record, then returns what delivers it (so finding it is not timed or counted). */
  deliver(match: (record: DynamoDBRecord) => boolean): Promise<() => Promise<void>>;
  readonly content: string;
}

export const GROUP_SIZES = [20, 100] as const;

/** The printed report, and `createGroup{size}` and `groupMessage{size}` for each size. */
export interface GroupUnits {
  readonly report: string;
  readonly operations: Record<string, OperationFigures>;
}

export async function measureGroupUnits(bench: GroupBench): Promise<GroupUnits> {
  const phases: Phase[] = [];
  const operations: Record<string, OperationFigures> = {};
  const timings: string[] = [];
  const counted = async (name: string, run: () => Promise<unknown>) => {
    await bench.counter.count(name, run);
    phases.push(bench.counter.phase(name));
  };
  for (const size of GROUP_SIZES) {
    const others = Array.from({ length: size - 1 }, (_, i) => ({
      userId: `g${size}-member-${String(i).padStart(2, '0')}`,
      name: `Member ${i}`,
      connectionId: `g${size}Conn${String(i).padStart(3, '0')}=`,
      deviceId: `g${size}-phone-${i}`,
    }));
    for (const member of others) await bench.connect(member);

    let conversationId = '';
    const create = async () => {
      const answer = await bench.createConversation(bench.creator, {
        action: 'createConversation',
        clientRequestId: `bench-group-${size}`,
        members: others.map((member) => member.userId),
        title: `Group of ${size}`,
      });
      if (answer?.type !== 'conversation')
        throw new Error(`createConversation answered ${JSON.stringify(answer)}`);
      if (conversationId !== '' && answer.conversationId !== conversationId)
        throw new Error('the retry made a second group');
      conversationId = String(answer.conversationId);
    };
    await counted(`createConversation, ${size} members`, create);
    await counted(`createConversation ${size}, retried (duplicate)`, create);
    const isNew = (type: string, seq?: number) => (record: DynamoDBRecord) =>
      record.eventName === 'INSERT' &&
      record.dynamodb?.NewImage?.type?.S === type &&
      record.dynamodb.NewImage.conversationId?.S === conversationId &&
      (seq === undefined || record.dynamodb.NewImage.seq?.N === String(seq));
    await counted(`conversation event to ${size}: delivery`, await bench.deliver(isNew('conversation')));

    const send = (seq: number) =>
      bench.sendMessage(bench.creator, {
        action: 'sendMessage',
        conversationId,
        clientMessageId: `bench-group-${size}-${seq}`,
        content: bench.content,
      });
    await counted(`group message to ${size}: sendMessage`, () => send(1));
    await counted(`group message to ${size}: delivery`, await bench.deliver(isNew('message', 1)));
    const reached = new Set(
      bench.stub.posted
        .filter((post) => post.frame.type === 'message' && post.frame.conversationId === conversationId)
        .map((post) => post.connectionId),
    );
    if (reached.size !== size - 1)
      throw new Error(`the group message reached ${reached.size} of ${size - 1}`);
    // What a new group costs until every member has it; the retry is a client's, not part of it.
    operations[`createGroup${size}`] = bench.counter.operation(
      `createConversation, ${size} members`,
      `conversation event to ${size}: delivery`,
    );
    operations[`groupMessage${size}`] = bench.counter.operation(
      `group message to ${size}: sendMessage`,
      `group message to ${size}: delivery`,
    );

    if (size === 100) {
      await send(2);
      const deliverSecond = await bench.deliver(isNew('message', 2));
      const started = performance.now();
      await deliverSecond();
      timings.push(
        `Delivery of a message to 100 members (99 online), not recorded: ${(performance.now() - started).toFixed(0)} ms ` +
          'in this process against DynamoDB Local and the local @connections stub.',
      );
    }
  }
  return { report: printGroups(phases, timings), operations };
}

const units = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));

function byOperation(calls: readonly RecordedCall[]): string {
  const counts = new Map<string, number>();
  for (const call of calls) {
    const name = call.outcome === 'ok' ? call.operation : `${call.operation} (${call.outcome})`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, count]) => `${name} ×${count}`).join(', ');
}

function printGroups(phases: readonly Phase[], timings: readonly string[]): string {
  return printPhases(
    'Groups: createConversation and group messages (informative)',
    [
      'Alice creates a group of 20, then one of 100, every member online on one connection; then writes one',
      'message to each. Same handlers, table, recorder and billing rules as above; calls summed by operation.',
    ],
    phases,
    timings,
  );
}

/** A table of phases summed by operation, with the billing rules they used. */
export function printPhases(
  title: string,
  intro: readonly string[],
  phases: readonly Phase[],
  notes: readonly string[] = [],
): string {
  const rows = phases.map((phase) => {
    let write = 0;
    let read = 0;
    for (const call of phase.calls) {
      if (call.billed.kind === 'read') read += call.billed.read.units;
      else write += call.billed.write.units;
    }
    return [phase.name, byOperation(phase.calls), units(write), units(read), String(phase.posts)];
  });
  const rules = new Set<RuleId>(
    phases.flatMap((phase) =>
      phase.calls.flatMap((call) =>
        call.billed.kind === 'read' ? call.billed.read.rules : call.billed.write.rules,
      ),
    ),
  );
  return [
    heading(title),
    ...intro,
    '',
    textTable(['phase', 'DynamoDB calls', 'WRU', 'RRU', 'PostToConnection'], rows, [
      'left',
      'left',
      'right',
      'right',
      'right',
    ]),
    '',
    ...notes,
    'Rules applied here:',
    ...[...rules].sort().map((id) => `  ${id}  ${RULES[id]}`),
    '',
  ].join('\n');
}
