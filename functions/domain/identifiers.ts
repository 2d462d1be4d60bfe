/**
 * The identifier rules of protocol.md, in one place for the authorizer (token `sub`, `deviceId`) and
 * the frame schemas (`to`). Charsets and lengths are separate so a too-long id can be told from one
 * with characters that are not allowed (too_large vs bad_request). None allows `#`, which keeps ids
 * safe inside DynamoDB keys.
 */
export const USER_ID_CHARS = /^[A-Za-z0-9_.:@-]+$/;
export const DEVICE_ID_CHARS = /^[A-Za-z0-9_.:-]+$/;
export const MAX_ID_LENGTH = 64;

const within = (value: string): boolean => value.length >= 1 && value.length <= MAX_ID_LENGTH;

export const isUserId = (value: string): boolean => within(value) && USER_ID_CHARS.test(value);
export const isDeviceId = (value: string): boolean => within(value) && DEVICE_ID_CHARS.test(value);
