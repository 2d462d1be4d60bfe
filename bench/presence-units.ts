/**
 * Presence, measured like the groups (bench/request-units.ts runs this in the same process, DynamoDB
 * Local, recorder and `@connections` stub): the delivery of a user's first connection opening and of
 * their last one closing, for a user with 1 direct contact and for one with 500 (each contact online on
 * one connection). The table prints what presence adds; `$connect` and `$disconnect` themselves are
 * counted too, unprinted (docs/design.md's access patterns list them), for the per-operation figures
 * `connectWithPresence` and `disconnectWithPresence` (1 contact; `…500` for 500): the handler and the
 * delivery of the record it wrote.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { printPhases } from './group-units.ts';
import type { ManagementApiStub } from './management-api-stub.ts';
import type { Phase, PhaseCounter } from './operation-units.ts';
import type { OperationFigures } from './results.ts';

interface Who {
  userId: string;
  name: string;
  connectionId: string;
  deviceId: string;
  /** The token's id: `$connect` records its use (protocol.md recommends tokens carry one). */
  jti?: string;
}

export interface PresenceBench {
  readonly counter: PhaseCounter;
  readonly stub: ManagementApiStub;
  connect(who: Who): Promise<void>;
  disconnect(who: Who): Promise<void>;
  /** Puts the two member items of a direct conversation between `userId` and `contact` (not counted). */
  seedDirect(userId: string, contact: string): Promise<void>;
  /** Finds the stream record, then returns what delivers it (so finding it is not timed or counted). */
  deliver(match: (record: DynamoDBRecord) => boolean): Promise<() => Promise<void>>;
}

export const CONTACT_COUNTS = [1, 500] as const;

/** The printed report, and the per-operation figures named above. */
export interface PresenceUnits {
  readonly report: string;
  readonly operations: Record<string, OperationFigures>;
}

export async function measurePresenceUnits(bench: PresenceBench): Promise<PresenceUnits> {
  const phases: Phase[] = [];
  const operations: Record<string, OperationFigures> = {};
  const counted = async (name: string, run: () => Promise<unknown>) => {
    await bench.counter.count(name, run);
    phases.push(bench.counter.phase(name));
  };
  for (const count of CONTACT_COUNTS) {
    const user: Who = {
      userId: `presence-${count}`,
      name: `Presence ${count}`,
      connectionId: `presence${count}Conn=`,
      deviceId: `presence-${count}-phone`,
      jti: `presence-${count}-token`,
    };
    for (let i = 0; i < count; i++) {
      const contact: Who = {
        userId: `p${count}-contact-${String(i).padStart(3, '0')}`,
        name: `Contact ${i}`,
        connectionId: `p${count}Contact${String(i).padStart(3, '0')}=`,
        deviceId: `p${count}-contact-${i}`,
      };
      await bench.seedDirect(user.userId, contact.userId);
      await bench.connect(contact);
    }
    const ofUser = (eventName: 'INSERT' | 'REMOVE') => (record: DynamoDBRecord) => {
      const image = eventName === 'INSERT' ? record.dynamodb?.NewImage : record.dynamodb?.OldImage;
      return (
        record.eventName === eventName &&
        image?.type?.S === 'connection' &&
        image.connectionId?.S === user.connectionId
      );
    };
    const contacts = `${count} contact${count === 1 ? '' : 's'}`;
    const suffix = count === 1 ? '' : String(count);
    await bench.counter.count(`$connect, ${contacts}`, () => bench.connect(user));
    await counted(`first connection opens, ${contacts}`, await bench.deliver(ofUser('INSERT')));
    operations[`connectWithPresence${suffix}`] = bench.counter.operation(
      `$connect, ${contacts}`,
      `first connection opens, ${contacts}`,
    );
    await bench.counter.count(`$disconnect, ${contacts}`, () => bench.disconnect(user));
    await counted(`last connection closes, ${contacts}`, await bench.deliver(ofUser('REMOVE')));
    operations[`disconnectWithPresence${suffix}`] = bench.counter.operation(
      `$disconnect, ${contacts}`,
      `last connection closes, ${contacts}`,
    );
    const told = bench.stub.posted.filter(
      (post) => post.frame.type === 'presence' && post.frame.userId === user.userId,
    );
    if (told.length !== 2 * count) throw new Error(`presence reached ${told.length} of ${2 * count} posts`);
  }
  const report = printPhases(
    'Presence: a user’s first connection opening and last one closing (informative)',
    [
      'The delivery of the connection item’s INSERT and REMOVE records: the user’s connection set, their',
      'contacts from the inbox index, each contact’s partition, one post per contact connection.',
    ],
    phases,
  );
  return { report, operations };
}
