/** How big a server frame is on the wire, against API Gateway's limit on one WebSocket message. */

/** protocol.md: server frames stay under 128 KiB (`sync` pages shrink to fit). */
export const MAX_FRAME_BYTES = 128 * 1024;

/** Bytes of `value` as a frame carries it: UTF-8 JSON. */
export const byteLength = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');
