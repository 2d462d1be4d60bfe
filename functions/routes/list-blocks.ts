import { listBlocks } from '../domain/blocks.ts';
import { listBlocksFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('listBlocks', listBlocksFrame, ({ caller }) => listBlocks(caller));
