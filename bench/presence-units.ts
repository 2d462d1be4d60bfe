/**
 * Presence, measured like the groups (bench/request-units.ts runs this in the same process, DynamoDB
 * Local, recorder and `@connections` stub): the delivery of a user's first connection opening and of
 * their last one closing, for a user with 1 direct contact and for one with 500 (each contact online on
 * one connection). `$connect` and `$disconnect` themselves are one PutItem and one DeleteItem, counted
 * in the README's access patterns; this is what presence adds.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { CapacityRecorder } from './capacity-recorder.ts';
import { type Phase, printPhases } from './group-units.ts';
import type { ManagementApiStub } from './management-api-stub.ts';

interface Who {
  userId: string;
  name: string;
  connectionId: string;
  deviceId: string;
}

export interface PresenceBench {
  readonly recorder: CapacityRecorder;
  readonly stub: ManagementApiStub;
  connect(who: Who): Promise<void>;
  disconnect(who: Who): Promise<void>;
  /** Puts the two member items of a direct conversation between `userId` and `contact` (not counted). */
  seedDirect(userId: string, contact: string): Promise<void>;
  /** Finds the stream record, then returns what delivers it (so finding it is not timed or counted). */
  deliver(match: (record: DynamoDBRecord) => boolean): Promise<() => Promise<void>>;
}

export const CONTACT_COUNTS = [1, 500] as const;

export async function measurePresenceUnits(bench: PresenceBench): Promise<string> {
  const phases: Phase[] = [];
  const counted = async (name: string, run: () => Promise<unknown>) => {
    const postsBefore = bench.stub.posted.length;
    await bench.recorder.during(name, run);
    phases.push({ name, calls: bench.recorder.callsOf(name), posts: bench.stub.posted.length - postsBefore });
  };
  for (const count of CONTACT_COUNTS) {
    const user: Who = {
      userId: `presence-${count}`,
      name: `Presence ${count}`,
      connectionId: `presence${count}Conn=`,
      deviceId: `presence-${count}-phone`,
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
    await bench.connect(user);
    await counted(
      `first connection opens, ${count} contact${count === 1 ? '' : 's'}`,
      await bench.deliver(ofUser('INSERT')),
    );
    await bench.disconnect(user);
    await counted(
      `last connection closes, ${count} contact${count === 1 ? '' : 's'}`,
      await bench.deliver(ofUser('REMOVE')),
    );
    const told = bench.stub.posted.filter(
      (post) => post.frame.type === 'presence' && post.frame.userId === user.userId,
    );
    if (told.length !== 2 * count) throw new Error(`presence reached ${told.length} of ${2 * count} posts`);
  }
  return printPhases(
    'Presence: a user’s first connection opening and last one closing (informative)',
    [
      'The delivery of the connection item’s INSERT and REMOVE records: the user’s connection set, their',
      'contacts from the inbox index, each contact’s partition, one post per contact connection.',
    ],
    phases,
  );
}
