/**
 * The SDK keeps its own copy of protocol.md's frames (it must not import the server's code); this
 * checks at compile time that every frame the server builds is one the SDK reads, field for field.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type * as Client from '../../../client/src/protocol.ts';
import type * as Server from '../../../functions/domain/frames.ts';

describe('client protocol types', () => {
  it("accept every frame of the server's", () => {
    expectTypeOf<Server.MessageFrame>().toExtend<Client.MessageFrame>();
    expectTypeOf<Server.SendAckFrame>().toExtend<Client.SendAckFrame>();
    expectTypeOf<Server.ActionAckFrame>().toExtend<Client.ActionAckFrame>();
    expectTypeOf<Server.MessageChangeAckFrame>().toExtend<Client.MessageChangeAckFrame>();
    expectTypeOf<Server.ReportAckFrame>().toExtend<Client.ReportAckFrame>();
    expectTypeOf<Server.MessageUpdatedFrame>().toExtend<Client.MessageUpdatedFrame>();
    expectTypeOf<Server.UploadFrame>().toExtend<Client.UploadFrame>();
    expectTypeOf<Server.TypingFrame>().toExtend<Client.TypingFrame>();
    expectTypeOf<Server.PresenceFrame>().toExtend<Client.PresenceFrame>();
    expectTypeOf<Server.ReadFrame>().toExtend<Client.ReadFrame>();
    expectTypeOf<Server.DeliveredFrame>().toExtend<Client.DeliveredFrame>();
    expectTypeOf<Server.ConversationFrame>().toExtend<Client.ConversationFrame>();
    expectTypeOf<Server.MessagesFrame>().toExtend<Client.MessagesFrame>();
    expectTypeOf<Server.ConversationsFrame>().toExtend<Client.ConversationsFrame>();
    expectTypeOf<Server.BlocksFrame>().toExtend<Client.BlocksFrame>();
    expectTypeOf<Server.ErrorFrame>().toExtend<Client.ErrorFrame>();
    expectTypeOf<Server.ServerFrame>().toExtend<Client.ServerFrame>();
  });

  it('name the same error codes', () => {
    expectTypeOf<Client.ErrorCode>().toEqualTypeOf<Server.ErrorFrame['code']>();
  });
});
