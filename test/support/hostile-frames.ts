/**
 * Hostile client frames for fast-check, each paired with the answer protocol.md prescribes for it.
 * Shared by the handler-level fuzz (test/integration/hostile-frames.test.ts) and its sample through the
 * local gateway (test/e2e/hostile-frames-gateway.test.ts).
 *
 * A body is JSON *text*, assembled here piece by piece, so that it can hold what JSON.stringify never
 * writes: duplicate keys, `__proto__` as an own key, numbers beyond double range (`1e999`), `-0`,
 * nesting thousands deep. The expected answer follows from how a case is built, never from running the
 * schema: a wrong-typed, missing, malformed or out-of-range field is `bad_request`; only fields over
 * their length limit (and nothing else wrong) is `too_large`; a well-formed frame is answered as the
 * route answers it, which for the `cheap` cases needs no DynamoDB call at all (a frame addressed `to`
 * the caller, a device action on a connection without `deviceId`, `ping`, blank or over-long content
 * of an edit, a reaction that is not one emoji, an upload over 25 MiB, ...). The `stored` cases are
 * valid frames that do read DynamoDB: about a conversation the caller is not in (`forbidden`, for every
 * conversation-scoped action), to a deactivated user, the caller's own (empty) conversation list.
 *
 * ROUTE_FRAMES gives every route of definitions/routes.ts its frames, or says why it takes none, so a
 * new route does not compile until it has them (test/support/route-tables.ts).
 */

import fc from 'fast-check';
import type { ErrorCode } from '../../definitions/error-codes.ts';
import { ERROR_CODES } from '../../definitions/error-codes.ts';
import type { RouteKey } from '../../definitions/routes.ts';
import {
  type FrameRoutesOf,
  frameRouteEntries,
  NOT_A_FRAME_ROUTE,
  type NotAFrameRoute,
} from './route-tables.ts';

/** The error codes of protocol.md, and nothing else. */
export const PROTOCOL_ERROR_CODES = ERROR_CODES;

export type Expected =
  | { readonly error: ErrorCode }
  | { readonly type: 'pong' }
  /** The caller's conversation list, which is empty: the caller is in no conversation. */
  | { readonly type: 'conversations' }
  /** (1.2) The users the caller blocks: none. */
  | { readonly type: 'blocks' };

export interface HostileCase {
  /** The route the frame is for (the handler it is given to). */
  readonly route: HostileRoute;
  /** What class of input it is, for failure messages. */
  readonly kind: string;
  readonly body: string;
  readonly expected: Expected;
}

/** Who the frames come from and what exists around them (seeded by the test). */
export interface HostileWorld {
  /** The sender: in no conversation, connected without a `deviceId`. */
  readonly caller: string;
  /** Conversations that exist, of which the caller is not a member. */
  readonly foreignConversations: readonly string[];
  /** A deactivated user. */
  readonly deactivatedUser: string;
  /** An active user the caller shares no conversation with. */
  readonly stranger: string;
}

type Entry = readonly [key: string, json: string];
type Arb<T> = fc.Arbitrary<T>;

const json = (value: unknown): string => JSON.stringify(value);
const objectText = (entries: readonly Entry[]): string =>
  `{${entries.map(([key, value]) => `${json(key)}:${value}`).join(',')}}`;

const BAD_REQUEST: Expected = { error: 'bad_request' };
const TOO_LARGE: Expected = { error: 'too_large' };
const FORBIDDEN: Expected = { error: 'forbidden' };

// ---- text ----

/**
 * Code points and sequences that break naive string handling: NUL and controls, lone surrogates (half
 * of an emoji), zero-width and bidi controls, a BOM, combining marks, emoji sequences, the last code
 * point, line separators, quotes, markup and template syntax.
 */
// biome-ignore format: a list, not a structure
export const UNICODE_EDGES = [
  '\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d',
  '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u202e', '\u202d', '\u2066', '\u2067',
  '\u2069', '\u200f', '\u061c', 'e\u0301', '\u0345', '😀', '👩‍👩‍👧‍👦', '🇺🇳', '\u{10ffff}', '\u{e0041}',
  '\ufffd', '\uffff', 'İ', 'ß', 'ﷺ', '𒐫', '\u00a0', '\u3000', '\n', '\r',
  '\t', '\u2028', '\u2029', '"', '\\', "'", '`', '<script>', '</', '&amp;',
  '%00', '%s',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template syntax is the point
  '${x}', '{{x}}', '#', '/', ' ',
] as const;

const edge = fc.constantFrom(...UNICODE_EDGES);

/** A short string of edge cases, random code points (lone surrogates included) and plain text. */
const unicodeText = (maxParts = 12): Arb<string> =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: edge },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
        { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
      ),
      { maxLength: maxParts },
    )
    .map((parts) => parts.join(''));

const codePoints = (text: string): number => Array.from(text).length;

/**
 * At least `min` characters: one piece repeated (cheap to make, however long). Limits count characters
 * as code points (protocol.md "1–128 chars"; the schemas measure so), not UTF-16 units.
 */
const longText = (
  min: number,
  max: number,
  piece: Arb<string> = fc.oneof(edge, fc.constant('a')),
): Arb<string> =>
  fc
    .tuple(piece, fc.integer({ min, max }))
    .map(([unit, length]) => unit.repeat(Math.ceil(length / codePoints(unit))));

/** Whitespace that `String.prototype.trim` removes: a field of only these is blank. */
const BLANKS = [' ', '\t', '\n', '\r', '\u00a0', '\u3000', '\ufeff', '\u2028', '\u2029', '\u000b', '\u000c'];
const blank = fc.array(fc.constantFrom(...BLANKS), { maxLength: 8 }).map((parts) => parts.join(''));

/** Not blank after trimming, at most `max` characters (code points) after trimming. */
const visibleText = (max: number): Arb<string> =>
  fc
    .oneof(
      { weight: 8, arbitrary: unicodeText() },
      // Exactly at the limit, with blanks around it that trimming removes.
      {
        weight: 1,
        arbitrary: fc
          .tuple(blank, blank)
          .map(([before, after]) => `${before}${'x'.repeat(max - 1)}😀${after}`),
      },
    )
    .filter((text) => text.trim() !== '' && codePoints(text.trim()) <= max);

/** More than `max` characters after trimming: a piece with a visible character, repeated, padded with blanks. */
const overCharacters = (max: number): Arb<string> =>
  fc
    .tuple(
      fc.oneof(edge, fc.constant('x')).filter((piece) => piece.trim() !== ''),
      fc.integer({ min: 1, max: 500 }),
      blank,
      blank,
    )
    .map(([piece, extra, before, after]) => {
      const repeats = Math.ceil((max + extra) / codePoints(piece)) + 2;
      return `${before}${piece.repeat(repeats)}${after}`;
    });

// ---- JSON values that are not what a field wants ----

/** Numbers as JSON text, including those JSON allows and doubles cannot hold. */
// biome-ignore format: a list, not a structure
const WEIRD_NUMBERS = [
  '1e308', '-1e308', '1e999', '-1e999', '-0', '0', '-1', '9007199254740992', '9007199254740993',
  '-9007199254740993', '1.5', '0.1', '5e-324', '1e-400', '123456789012345678901234567890', '1E2', '2.0',
];

const numberText: Arb<string> = fc.oneof(
  fc.constantFrom(...WEIRD_NUMBERS),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(json),
);

/** Own keys that would pollute prototypes if code merged the frame into an object. */
const POLLUTING_OBJECTS = [
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"prototype":{"polluted":"yes"}}',
  '{"__proto__":null}',
  '{"__proto__":[]}',
  '{"toString":"x","valueOf":1,"hasOwnProperty":null}',
  '{"then":"x","toJSON":1}',
];

const deepArray = fc
  .integer({ min: 2, max: 4000 })
  .map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const deepObject = fc
  .integer({ min: 2, max: 3000 })
  .map((depth) => `${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}`);
const longArray = fc
  .tuple(fc.constantFrom('0', 'null', '"x"', '{}', '[]'), fc.integer({ min: 101, max: 20_000 }))
  .map(([element, length]) => `[${Array.from({ length }, () => element).join(',')}]`);

/** Any JSON value that is an array or an object, hostile ones included. */
const structureText: Arb<string> = fc.oneof(
  fc.constantFrom(...POLLUTING_OBJECTS),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }).map(json),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map(json),
  deepArray,
  deepObject,
  longArray,
);

const notAString: Arb<string> = fc.oneof(
  { weight: 3, arbitrary: numberText },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null') },
  { weight: 2, arbitrary: structureText },
);

/** Anything but a string, and not null either (for a field that allows null). */
const notAStringNorNull = notAString.filter((text) => text !== 'null');

const isSafeIntegerIn = (text: string, min: number, max: number): boolean => {
  const value: unknown = JSON.parse(text);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
};

/** Anything but a whole number in [min, max]: strings of numbers, fractions, unsafe and out-of-range ones. */
const notAnIntegerIn = (min: number, max: number): Arb<string> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          numberText,
          fc.integer({ min: Number.MIN_SAFE_INTEGER, max: min - 1 }).map(String),
          ...(max < Number.MAX_SAFE_INTEGER ? [fc.integer({ min: max + 1 }).map(String)] : []),
        )
        .filter((text) => !isSafeIntegerIn(text, min, max)),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('1', 'NaN', 'Infinity', '-Infinity', '-0', '1e308', '', ' 1', '0x10', '١')
        .map(json),
    },
    { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null') },
    { weight: 1, arbitrary: structureText },
  );

// ---- identifiers ----

const USER_ID_CHARS = /^[A-Za-z0-9_.:@-]+$/;
const CLIENT_ID_CHARS = /^[A-Za-z0-9_-]+$/;

/** Strings with at least one character the id's charset does not allow (or empty). */
const badChars = (allowed: RegExp): Arb<string> =>
  fc
    .oneof(
      fc.constant(''),
      fc
        .tuple(fc.stringMatching(/^[A-Za-z0-9]{0,8}$/), edge, fc.stringMatching(/^[A-Za-z0-9]{0,8}$/))
        .map(([before, piece, after]) => `${before}${piece}${after}`),
      fc.constantFrom('a b', 'al#ice', 'a/b', 'a\u0000', 'é', 'Ａ', 'a.b', 'a@b', 'a:b'),
    )
    .filter((text) => text === '' || !allowed.test(text));

/** Only allowed characters, more than `max` of them. */
const longId = (charset: RegExp, max: number): Arb<string> =>
  fc
    .tuple(fc.stringMatching(charset), fc.integer({ min: max + 1, max: max + 300 }))
    .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

const userIdValue = fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,64}$/);
/** `count` distinct user ids, cheaply: one random prefix and a counter. */
const distinctUserIds = (min: number, max: number): Arb<string[]> =>
  fc
    .tuple(fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,20}$/), fc.integer({ min, max }))
    .map(([prefix, count]) => Array.from({ length: count }, (_, index) => `${prefix}-${index}`));
const clientIdValue = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);

const userIdWrong = fc.oneof(notAString, badChars(USER_ID_CHARS).map(json));
const userIdTooLong = longId(/^[A-Za-z0-9_.:@-]{1,6}$/, 64).map(json);
const clientIdWrong = fc.oneof(notAString, badChars(CLIENT_ID_CHARS).map(json));
const clientIdTooLong = longId(/^[A-Za-z0-9_-]{1,6}$/, 64).map(json);
const conversationIdWrong = fc.oneof(notAString, fc.constant('""'));
const conversationIdTooLong = longText(129, 2_000).map(json);
/** Any characters, 1–128 UTF-16 units: what a conversation id may be (protocol.md: opaque). */
const conversationIdValue = unicodeText(20).filter((text) => text.length >= 1 && codePoints(text) <= 128);

const enumWrong = (values: readonly string[]): Arb<string> =>
  fc.oneof(
    notAString,
    fc
      .oneof(
        fc.constantFrom(...values).map((value) => value.toUpperCase()),
        fc.constantFrom(...values).map((value) => ` ${value}`),
        fc.constantFrom(...values).map((value) => `${value}\u200b`),
        fc.constantFrom(...values).map((value) => `${value}\u0000`),
        fc.constantFrom(...values).map((value) => value.slice(1)),
        unicodeText(4),
      )
      .filter((text) => !values.includes(text))
      .map(json),
  );

// ---- fields ----

interface FieldSpec {
  /** Entries of a valid value (none for an optional field left out). */
  readonly valid: Arb<readonly Entry[]>;
  /** Entries the schema refuses as missing, mistyped, malformed or out of range. */
  readonly wrong: Arb<readonly Entry[]>;
  /** Entries that are only over a length limit. */
  readonly tooLong?: Arb<readonly Entry[]>;
}

function field(
  key: string,
  spec: { required: boolean; valid: Arb<string>; wrong: Arb<string>; tooLong?: Arb<string> },
): FieldSpec {
  const set = (value: Arb<string>): Arb<readonly Entry[]> => value.map((text) => [[key, text]] as const);
  const present = set(spec.valid);
  return {
    valid: spec.required ? present : fc.oneof(present, fc.constant([])),
    wrong: spec.required
      ? fc.oneof({ weight: 4, arbitrary: set(spec.wrong) }, fc.constant([]))
      : set(spec.wrong),
    ...(spec.tooLong === undefined ? {} : { tooLong: set(spec.tooLong) }),
  };
}

/**
 * `conversationId` or `to`, exactly one. The valid target needing no database is the caller itself:
 * refused `forbidden` before anything is read.
 */
function target(world: HostileWorld): FieldSpec {
  const to = (value: Arb<string>) => value.map((text): readonly Entry[] => [['to', text]]);
  const conversation = (value: Arb<string>) =>
    value.map((text): readonly Entry[] => [['conversationId', text]]);
  return {
    valid: to(fc.constant(json(world.caller))),
    wrong: fc.oneof(
      fc.constant([]),
      to(userIdWrong),
      conversation(conversationIdWrong),
      // Both: the schema wants exactly one.
      fc.tuple(userIdValue, conversationIdValue).map(([user, conversationId]): readonly Entry[] => [
        ['to', json(user)],
        ['conversationId', json(conversationId)],
      ]),
    ),
    tooLong: fc.oneof(to(userIdTooLong), conversation(conversationIdTooLong)),
  };
}

interface RouteSpec {
  readonly fields: readonly FieldSpec[];
  /** What a frame of valid fields is answered without any DynamoDB call; undefined when it needs one. */
  readonly cheapValid: Expected | undefined;
  /** Well-typed frames the domain refuses before any DynamoDB call. */
  readonly domainRefusals: readonly Arb<Case>[];
  /** Valid frames that read DynamoDB and must store nothing. */
  readonly stored: readonly Arb<Case>[];
}

type Case = Omit<HostileCase, 'route'>;

const frameOf = (route: string, entries: readonly Entry[]): string =>
  objectText([['action', json(route)], ...entries]);

/** All fields valid: one Arbitrary of their entries, concatenated. */
const validEntries = (fields: readonly FieldSpec[]): Arb<readonly Entry[]> =>
  fc.tuple(...fields.map((spec) => spec.valid)).map((parts) => parts.flat());

/**
 * Conversations the caller is not in: the seeded ones, and ids of every shape (protocol.md: opaque) of
 * conversations that may or may not exist. All are answered alike.
 */
const foreignConversation = (world: HostileWorld): Arb<string> =>
  fc.oneof(
    fc.constantFrom(...world.foreignConversations),
    conversationIdValue,
    fc.stringMatching(/^dm_[A-Za-z0-9_-]{43}$/),
    fc.uuid().map((id) => `grp_${id}`),
  );

/** A message's `seq`: a whole number from 1 (a number out of range is bad_request, not too_large). */
const seqField = field('seq', {
  required: true,
  valid: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map(String),
  wrong: notAnIntegerIn(1, Number.MAX_SAFE_INTEGER),
});

/** A required `conversationId`: valid ones name conversations the caller is not in. */
const foreignConversationId = (world: HostileWorld): FieldSpec =>
  field('conversationId', {
    required: true,
    valid: foreignConversation(world).map(json),
    wrong: conversationIdWrong,
    tooLong: conversationIdTooLong,
  });

/** Valid frames about a conversation the caller is not in: `forbidden`, after reading DynamoDB. */
const ofOthers = (route: string, fields: readonly FieldSpec[]): Arb<Case> =>
  validEntries(fields).map((entries) => ({
    kind: 'in a conversation of others',
    body: frameOf(route, entries),
    expected: FORBIDDEN,
  }));

/**
 * One emoji each, at most 32 bytes of UTF-8 (protocol.md): a pictograph, with a skin tone or text
 * presentation, joined ones, a flag, a tag flag, keycaps, `©`.
 */
// biome-ignore format: a list, not a structure
const EMOJI = [
  '😀', '👍', '👍🏽', '❤️', '❤', '🫠', '©', '™️', '1️⃣', '#️⃣', '🇺🇳', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '🏳️‍🌈', '👩‍👩‍👧‍👦', '👩🏽‍🤝‍👨🏿',
];
const MAX_EMOJI_BYTES = 32;
const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * One emoji that is only too long: six or more pictographs joined by ZWJ into one grapheme (as the
 * family emoji are), or a family with skin tones, all over 32 bytes.
 */
const emojiOverBytes: Arb<string> = fc.oneof(
  fc.constant('👨🏻‍👩🏻‍👧🏻‍👦🏻'),
  fc
    .tuple(fc.constantFrom('😀', '👍', '👍🏽', '❤️', '🫠', '👩'), fc.integer({ min: 6, max: 40 }))
    .map(([piece, count]) => Array.from({ length: count }, () => piece).join('\u200d')),
);

/** No emoji at all: letters, digits and `#` alone, emoticons, a joiner or variation selector on nothing. */
// biome-ignore format: a list, not a structure
const NO_EMOJI = ['', ' ', 'a', '1', '#', '*', ':)', '<3', '+1', 'ok', 'e\u0301', '\u200d', '\ufe0f', '\u0000'];
/** Characters that never join an emoji before or after them into one grapheme. */
const BESIDE_AN_EMOJI = [' ', 'a', '1', '#', '.', '\n', '\t', '\u200b', '\u0000'];

/** At most 32 bytes, but not exactly one emoji: none at all, two, or one with a character beside it. */
const notOneEmoji: Arb<string> = fc
  .oneof(
    fc.constantFrom(...NO_EMOJI),
    fc
      .tuple(fc.constantFrom(...EMOJI), fc.constantFrom(...EMOJI))
      .map(([first, second]) => `${first}${second}`),
    fc
      .tuple(fc.constantFrom(...EMOJI), fc.constantFrom(...BESIDE_AN_EMOJI), fc.boolean())
      .map(([emoji, other, before]) => (before ? `${other}${emoji}` : `${emoji}${other}`)),
  )
  .filter((text) => utf8Bytes(text) <= MAX_EMOJI_BYTES);

/** Anything but `true` or `false`: numbers, `null`, arrays and objects, strings (of booleans too). */
const notABoolean: Arb<string> = fc.oneof(
  numberText,
  fc.constant('null'),
  structureText,
  fc.oneof(fc.constantFrom('true', 'false', 'on', '1', ''), unicodeText(4)).map(json),
);

/** protocol.md's upload types, and its limit on `size`: 25 MiB. */
// biome-ignore format: a list, not a structure
const UPLOAD_TYPES = [
  'image/jpeg', 'image/png', 'image/webp', 'image/gif', 'video/mp4', 'audio/mp4', 'application/pdf',
];
/** Types the list does not have, some close to one that it has. */
// biome-ignore format: a list, not a structure
const NOT_UPLOAD_TYPES = [
  'image/jpg', 'image/svg+xml', 'image/*', 'text/html', 'application/octet-stream', 'video/quicktime',
  'image/jpeg; charset=utf-8', 'image/png ', 'application/x-msdownload',
];
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;

/** protocol.md's report reasons, and the note's limit: 1000 characters. */
// biome-ignore format: a list, not a structure
const REPORT_REASONS = ['spam', 'harassment', 'hate', 'sexual', 'violence', 'minor_safety', 'scam', 'other'];
const MAX_NOTE_CHARACTERS = 1000;

/** `$default` takes any body at all: see cheapCases and defaultAnswer. */
const ANY_BODY = 'any body';

/** How a route's frames are made, from its action and the world around the caller. */
type RouteFrames = ((route: string, world: HostileWorld) => RouteSpec) | typeof ANY_BODY | NotAFrameRoute;

/**
 * Every route of definitions/routes.ts with its frames: a route added there does not compile until it
 * has them here, or says why it takes none.
 */
const ROUTE_FRAMES = {
  // API Gateway runs these on the upgrade request and on the close: no client frame ever reaches them.
  $connect: NOT_A_FRAME_ROUTE,
  $disconnect: NOT_A_FRAME_ROUTE,
  $default: ANY_BODY,
  sendMessage: (route, world) => {
    const sendFields = {
      clientMessageId: field('clientMessageId', {
        required: true,
        valid: clientIdValue.map(json),
        wrong: clientIdWrong,
        tooLong: clientIdTooLong,
      }),
      content: field('content', { required: true, valid: visibleText(4000).map(json), wrong: notAString }),
    };
    const foreign = foreignConversation(world);
    const fields = [sendFields.clientMessageId, sendFields.content, target(world)];
    const withContent = (content: Arb<string>, kind: string, expected: Expected): Arb<Case> =>
      fc.tuple(clientIdValue, content).map(([clientMessageId, text]) => ({
        kind,
        body: frameOf(route, [
          ['clientMessageId', json(clientMessageId)],
          ['content', json(text)],
          ['to', json(world.caller)],
        ]),
        expected,
      }));
    const stored = (entries: Arb<Entry>, kind: string): Arb<Case> =>
      fc.tuple(clientIdValue, visibleText(4000), entries).map(([clientMessageId, content, to]) => ({
        kind,
        body: frameOf(route, [['clientMessageId', json(clientMessageId)], ['content', json(content)], to]),
        expected: FORBIDDEN,
      }));
    return {
      fields,
      cheapValid: FORBIDDEN,
      domainRefusals: [
        withContent(blank, 'blank content', BAD_REQUEST),
        withContent(overCharacters(4000), 'content over 4000 characters', TOO_LARGE),
      ],
      stored: [
        stored(
          foreign.map((id): Entry => ['conversationId', json(id)]),
          'to a conversation of others',
        ),
        stored(fc.constant<Entry>(['to', json(world.deactivatedUser)]), 'to a deactivated user'),
      ],
    };
  },
  typing: (route, world) => {
    const foreign = foreignConversation(world);
    const state = field('state', {
      required: true,
      valid: fc.constantFrom('start', 'stop').map(json),
      wrong: enumWrong(['start', 'stop']),
    });
    const stored = (entries: Arb<Entry>, kind: string): Arb<Case> =>
      fc.tuple(fc.constantFrom('start', 'stop'), entries).map(([value, to]) => ({
        kind,
        body: frameOf(route, [['state', json(value)], to]),
        expected: FORBIDDEN,
      }));
    return {
      fields: [state, target(world)],
      cheapValid: FORBIDDEN,
      domainRefusals: [],
      stored: [
        stored(
          foreign.map((id): Entry => ['conversationId', json(id)]),
          'in a conversation of others',
        ),
        stored(
          fc.constantFrom(world.stranger, world.deactivatedUser).map((user): Entry => ['to', json(user)]),
          'to someone the caller never wrote to',
        ),
      ],
    };
  },
  markRead: (route, world) => {
    const fields = [foreignConversationId(world), seqField];
    return { fields, cheapValid: undefined, domainRefusals: [], stored: [ofOthers(route, fields)] };
  },
  createConversation: (route, world) => {
    const clientRequestId = field('clientRequestId', {
      required: true,
      valid: clientIdValue.map(json),
      wrong: clientIdWrong,
      tooLong: clientIdTooLong,
    });
    const members = field('members', {
      required: true,
      valid: fc.uniqueArray(userIdValue, { minLength: 1, maxLength: 10 }).map(json),
      wrong: fc.oneof(
        fc.oneof(numberText, fc.constantFrom('true', 'false', 'null', '{}'), unicodeText().map(json)),
        // An entry that is not a user id, in a list of at most 100 (more is too_large before entries count).
        fc.tuple(fc.array(userIdValue, { maxLength: 20 }), userIdWrong, fc.nat()).map(([ids, bad, at]) => {
          const entries = ids.map(json);
          entries.splice(at % (entries.length + 1), 0, bad);
          return `[${entries.join(',')}]`;
        }),
      ),
      tooLong: fc.oneof(
        distinctUserIds(101, 300).map(json),
        fc
          .tuple(fc.array(userIdValue, { maxLength: 20 }), userIdTooLong)
          .map(([ids, long]) => `[${[...ids.map(json), long].join(',')}]`),
      ),
    });
    const title = field('title', {
      required: false,
      valid: fc.oneof(fc.constant('null'), visibleText(200).map(json), blank.map(json)),
      wrong: notAStringNorNull,
    });
    const frame = (memberIds: readonly string[], titleText: string | undefined, requestId: string) =>
      frameOf(route, [
        ['clientRequestId', json(requestId)],
        ['members', json(memberIds)],
        ...(titleText === undefined ? [] : [['title', json(titleText)] as const]),
      ]);
    const others = fc.uniqueArray(userIdValue, { minLength: 1, maxLength: 10 });
    return {
      fields: [clientRequestId, members, title],
      cheapValid: undefined,
      domainRefusals: [
        // Nobody but the caller (once, many times, or nobody at all).
        fc
          .tuple(fc.nat({ max: 5 }), clientIdValue, fc.option(visibleText(200), { nil: undefined }))
          .map(([copies, requestId, titleText]) => ({
            kind: 'no member besides the caller',
            body: frame(
              Array.from({ length: copies }, () => world.caller),
              titleText,
              requestId,
            ),
            expected: BAD_REQUEST,
          })),
        // 100 others are within the schema's 100 entries, but with the caller the group has 101.
        fc
          .tuple(distinctUserIds(100, 100), clientIdValue)
          .filter(([ids]) => !ids.includes(world.caller))
          .map(([ids, requestId]) => ({
            kind: '101 members with the caller',
            body: frame(ids, undefined, requestId),
            expected: TOO_LARGE,
          })),
        fc.tuple(others, overCharacters(200), clientIdValue).map(([ids, titleText, requestId]) => ({
          kind: 'title over 200 characters',
          body: frame(ids, titleText, requestId),
          expected: TOO_LARGE,
        })),
      ],
      stored: [
        fc
          .tuple(
            fc.array(userIdValue, { maxLength: 20 }),
            fc.nat(),
            fc.option(visibleText(200), { nil: undefined }),
            clientIdValue,
          )
          .map(([ids, at, titleText, requestId]) => {
            const withDeactivated = [...ids];
            withDeactivated.splice(at % (ids.length + 1), 0, world.deactivatedUser);
            return {
              kind: 'with a deactivated member',
              body: frame(withDeactivated, titleText, requestId),
              expected: FORBIDDEN,
            };
          }),
      ],
    };
  },
  registerDevice: () => {
    const platform = field('platform', {
      required: true,
      valid: fc.constantFrom('apns', 'apns_sandbox', 'fcm').map(json),
      wrong: enumWrong(['apns', 'apns_sandbox', 'fcm']),
    });
    const token = field('token', {
      required: true,
      valid: fc
        .oneof(unicodeText(), longText(1, 4096))
        .filter((text) => text.length >= 1 && codePoints(text) <= 4096)
        .map(json),
      wrong: fc.oneof(notAString, fc.constant('""')),
      tooLong: longText(4097, 10_000).map(json),
    });
    // The caller's connection has no deviceId: a valid frame is refused before anything is called.
    return { fields: [platform, token], cheapValid: BAD_REQUEST, domainRefusals: [], stored: [] };
  },
  unregisterDevice: () => ({ fields: [], cheapValid: BAD_REQUEST, domainRefusals: [], stored: [] }),
  ping: () => ({ fields: [], cheapValid: { type: 'pong' }, domainRefusals: [], stored: [] }),
  sync: (route, world) => {
    const foreign = foreignConversation(world);
    const conversationId = field('conversationId', {
      required: false,
      valid: foreign.map(json),
      wrong: conversationIdWrong,
      tooLong: conversationIdTooLong,
    });
    const afterSeq = field('afterSeq', {
      required: false,
      valid: fc.oneof(fc.constant('-0'), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(String)),
      wrong: notAnIntegerIn(0, Number.MAX_SAFE_INTEGER),
    });
    const limit = field('limit', {
      required: false,
      valid: fc.integer({ min: 1, max: 100 }).map(String),
      wrong: notAnIntegerIn(1, 100),
    });
    const cursor = field('cursor', {
      required: false,
      valid: fc.constant('"unused"'),
      wrong: fc.oneof(notAString, fc.constant('""')),
      tooLong: longText(1025, 3_000).map(json),
    });
    // Any text that is not base64url JSON of a position (list-cursor.ts): refused before anything is read.
    const malformedCursor = fc
      .oneof(
        unicodeText(),
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.constant('AAAAAAAAAAAAAAAA.01.AAAAAAAAAAAAAAAAAAAAAA'),
      )
      .filter((text) => text.length >= 1 && codePoints(text) <= 1024);
    // A well-formed position in some other user's list (its user tag is not the caller's).
    const instant = fc
      .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) })
      .map((ms) => new Date(ms).toISOString());
    const wellFormedCursor = fc
      .record({
        u: fc.stringMatching(/^[A-Za-z0-9_-]{16}$/),
        t: instant,
        c: fc.string({ minLength: 1, maxLength: 60 }),
        r: instant,
      })
      .map((position) => Buffer.from(JSON.stringify(position)).toString('base64url'));
    const paging = validEntries([afterSeq, limit]);
    return {
      fields: [conversationId, afterSeq, limit, cursor],
      cheapValid: undefined,
      domainRefusals: [
        fc.tuple(foreign, fc.string({ minLength: 1, maxLength: 100 }), paging).map(([id, text, entries]) => ({
          kind: 'cursor with a conversationId',
          body: frameOf(route, [['conversationId', json(id)], ['cursor', json(text)], ...entries]),
          expected: BAD_REQUEST,
        })),
        fc.tuple(malformedCursor, paging).map(([text, entries]) => ({
          kind: 'malformed cursor',
          body: frameOf(route, [['cursor', json(text)], ...entries]),
          expected: BAD_REQUEST,
        })),
        // Another user's: refused by its user tag, before anything is read.
        fc.tuple(wellFormedCursor, paging).map(([text, entries]) => ({
          kind: 'a cursor of no list of the caller',
          body: frameOf(route, [['cursor', json(text)], ...entries]),
          expected: BAD_REQUEST,
        })),
      ],
      stored: [
        fc.tuple(foreign, paging).map(([id, entries]) => ({
          kind: 'a conversation of others',
          body: frameOf(route, [['conversationId', json(id)], ...entries]),
          expected: FORBIDDEN,
        })),
        paging.map((entries) => ({
          kind: 'own conversation list',
          body: frameOf(route, entries),
          expected: { type: 'conversations' } as const,
        })),
      ],
    };
  },
  // protocol.md: the sender's own message, with sendMessage's content rules. The caller is in no
  // conversation: every valid frame reads its membership and is refused.
  editMessage: (route, world) => {
    const conversationId = foreignConversationId(world);
    // Over 4000 characters after trimming is too_large, refused (like blank content) before any read.
    const content = field('content', {
      required: true,
      valid: visibleText(4000).map(json),
      wrong: notAString,
      tooLong: overCharacters(4000).map(json),
    });
    const fields = [conversationId, seqField, content];
    return {
      fields,
      cheapValid: undefined,
      domainRefusals: [
        fc.tuple(validEntries([conversationId, seqField]), blank).map(([entries, text]) => ({
          kind: 'blank content',
          body: frameOf(route, [...entries, ['content', json(text)]]),
          expected: BAD_REQUEST,
        })),
      ],
      stored: [ofOthers(route, fields)],
    };
  },
  deleteMessage: (route, world) => {
    const fields = [foreignConversationId(world), seqField];
    return { fields, cheapValid: undefined, domainRefusals: [], stored: [ofOthers(route, fields)] };
  },
  react: (route, world) => {
    const conversationId = foreignConversationId(world);
    // What is one emoji is the domain's, checked before any read: over 32 bytes too_large, else bad_request.
    const emoji = field('emoji', {
      required: true,
      valid: fc.constantFrom(...EMOJI).map(json),
      wrong: notAString,
      tooLong: emojiOverBytes.map(json),
    });
    const on = field('on', { required: true, valid: fc.constantFrom('true', 'false'), wrong: notABoolean });
    const fields = [conversationId, seqField, emoji, on];
    return {
      fields,
      cheapValid: undefined,
      domainRefusals: [
        fc.tuple(validEntries([conversationId, seqField, on]), notOneEmoji).map(([entries, text]) => ({
          kind: 'not one emoji',
          body: frameOf(route, [...entries, ['emoji', json(text)]]),
          expected: BAD_REQUEST,
        })),
      ],
      stored: [ofOthers(route, fields)],
    };
  },
  // A group's member leaves it, a direct conversation is hidden: members only, either way.
  leaveConversation: (route, world) => {
    const fields = [foreignConversationId(world)];
    return { fields, cheapValid: undefined, domainRefusals: [], stored: [ofOthers(route, fields)] };
  },
  // A valid frame stores the caller's upload item (and signs its PUT): refused frames only.
  requestUpload: () => {
    const clientRequestId = field('clientRequestId', {
      required: true,
      valid: clientIdValue.map(json),
      wrong: clientIdWrong,
      tooLong: clientIdTooLong,
    });
    const contentType = field('contentType', {
      required: true,
      valid: fc.constantFrom(...UPLOAD_TYPES).map(json),
      wrong: fc.oneof(enumWrong(UPLOAD_TYPES), fc.constantFrom(...NOT_UPLOAD_TYPES).map(json)),
    });
    // Whole bytes from 1; over 25 MiB is too_large (the domain's check, before anything is stored),
    // beyond 2**53 - 1 not a safe whole number at all (bad_request).
    const size = field('size', {
      required: true,
      valid: fc
        .oneof(fc.constant(MAX_UPLOAD_BYTES), fc.integer({ min: 1, max: MAX_UPLOAD_BYTES }))
        .map(String),
      wrong: notAnIntegerIn(1, Number.MAX_SAFE_INTEGER),
      tooLong: fc
        .oneof(
          fc.constant(MAX_UPLOAD_BYTES + 1),
          fc.integer({ min: MAX_UPLOAD_BYTES + 1, max: Number.MAX_SAFE_INTEGER }),
        )
        .map(String),
    });
    return {
      fields: [clientRequestId, contentType, size],
      cheapValid: undefined,
      domainRefusals: [],
      stored: [],
    };
  },
  // (1.2) A member reports a message or the conversation. The caller is in no conversation: every valid
  // frame reads its own report (none), then membership, and is refused; only the note's length is the
  // domain's, checked before any call.
  report: (route, world) => {
    const clientRequestId = field('clientRequestId', {
      required: true,
      valid: clientIdValue.map(json),
      wrong: clientIdWrong,
      tooLong: clientIdTooLong,
    });
    const seq = field('seq', {
      required: false,
      valid: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map(String),
      wrong: notAnIntegerIn(1, Number.MAX_SAFE_INTEGER),
    });
    const reason = field('reason', {
      required: true,
      valid: fc.constantFrom(...REPORT_REASONS).map(json),
      wrong: enumWrong(REPORT_REASONS),
    });
    // Over 1000 characters after trimming is too_large (the domain's, before any call), like a title.
    const note = field('note', {
      required: false,
      valid: fc.oneof(fc.constant('null'), visibleText(MAX_NOTE_CHARACTERS).map(json), blank.map(json)),
      wrong: notAStringNorNull,
      tooLong: overCharacters(MAX_NOTE_CHARACTERS).map(json),
    });
    const fields = [clientRequestId, foreignConversationId(world), seq, reason, note];
    return { fields, cheapValid: undefined, domainRefusals: [], stored: [ofOthers(route, fields)] };
  },
  // (1.2) Blocking oneself is refused before anything is read or written; blocking anyone else stores a
  // block, so a valid frame here names the caller.
  block: (_route, world) => {
    const userId = field('userId', {
      required: true,
      valid: fc.constant(json(world.caller)),
      wrong: userIdWrong,
      tooLong: userIdTooLong,
    });
    const on = field('on', { required: true, valid: fc.constantFrom('true', 'false'), wrong: notABoolean });
    return { fields: [userId, on], cheapValid: FORBIDDEN, domainRefusals: [], stored: [] };
  },
  listBlocks: (route) => ({
    fields: [],
    cheapValid: undefined,
    domainRefusals: [],
    stored: [
      fc.constant({ kind: 'own blocks', body: frameOf(route, []), expected: { type: 'blocks' } as const }),
    ],
  }),
  // (1.2) Only a direct conversation can be a request: any other id is bad_request on its form alone,
  // before anything is read or counted. A direct one the caller is not in is forbidden after the reads.
  acceptRequest: (route, world) => {
    const direct = fc
      .oneof(
        fc.constantFrom(...world.foreignConversations.filter((id) => id.startsWith('dm_'))),
        fc.stringMatching(/^dm_[A-Za-z0-9_-]{43}$/),
        conversationIdValue.map((text) => `dm_${text}`).filter((text) => codePoints(text) <= 128),
      )
      .map(json);
    const conversationId = field('conversationId', {
      required: true,
      valid: direct,
      wrong: conversationIdWrong,
      tooLong: conversationIdTooLong,
    });
    // Groups (existing or not), ids of any shape, and near misses of the prefix.
    const notDirect = fc
      .oneof(
        foreignConversation(world),
        fc
          .stringMatching(/^dm_[A-Za-z0-9_-]{43}$/)
          .chain((id) =>
            fc.constantFrom(id.toUpperCase(), ` ${id}`, `\u200b${id}`, id.replace('dm_', 'dm-'), id.slice(1)),
          ),
      )
      .filter((id) => !id.startsWith('dm_'));
    return {
      fields: [conversationId],
      cheapValid: undefined,
      domainRefusals: [
        notDirect.map((id) => ({
          kind: 'not a direct conversation',
          body: frameOf(route, [['conversationId', json(id)]]),
          expected: BAD_REQUEST,
        })),
      ],
      stored: [ofOthers(route, [conversationId])],
    };
  },
} as const satisfies Record<RouteKey, RouteFrames>;

/** The routes a client frame can reach, each with its hostile frames: all but `$connect` and `$disconnect`. */
export type HostileRoute = FrameRoutesOf<typeof ROUTE_FRAMES>;

/** In the order of definitions/routes.ts. */
export const HOSTILE_ROUTES: readonly HostileRoute[] = frameRouteEntries(ROUTE_FRAMES).map(
  ([route]) => route,
);

function routeSpec(route: Exclude<HostileRoute, '$default'>, world: HostileWorld): RouteSpec {
  return ROUTE_FRAMES[route](route, world);
}

// ---- whole frames ----

const ACTIONS = HOSTILE_ROUTES.filter((route) => route !== '$default');

/** `action` as a route handler must refuse it: missing, not a string, or another string. */
const wrongAction = (route: string): Arb<readonly Entry[]> =>
  fc.oneof(
    fc.constant([]),
    notAString.map((text): readonly Entry[] => [['action', text]]),
    fc
      .oneof(
        fc.constantFrom(...ACTIONS, '$default', '$connect', '$disconnect', '', 'block', 'listBlocks'),
        fc.constantFrom(
          route.toUpperCase(),
          `${route} `,
          ` ${route}`,
          `${route}\u200b`,
          `${route}\u0000`,
          route.slice(1),
        ),
        unicodeText(4),
      )
      .filter((text) => text !== route)
      .map((text): readonly Entry[] => [['action', json(text)]]),
  );

/** Keys no route reads, that naive merging or lookups would trip over. */
// biome-ignore format: a list, not a structure
const NOISE_KEYS = [
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'toJSON',
  'then', '__defineGetter__', 'length', '0', '', 'Action', 'action\u200b',
];
// biome-ignore format: a list, not a structure
const ROUTE_FIELDS = new Set([
  'action', 'clientMessageId', 'clientRequestId', 'content', 'conversationId', 'to', 'state', 'seq',
  'members', 'title', 'afterSeq', 'afterVersion', 'limit', 'cursor', 'platform', 'token', 'attachments',
  'emoji', 'on', 'contentType', 'size', 'reason', 'note',
]);
const anyValue: Arb<string> = fc.oneof(
  { weight: 2, arbitrary: notAString },
  { weight: 1, arbitrary: unicodeText().map(json) },
  { weight: 1, arbitrary: longText(1, 5_000).map(json) },
);
const noise: Arb<readonly Entry[]> = fc.array(
  fc.tuple(
    fc
      .oneof(
        { weight: 3, arbitrary: fc.constantFrom(...NOISE_KEYS) },
        { weight: 1, arbitrary: unicodeText(3) },
      )
      .filter((key) => !ROUTE_FIELDS.has(key)),
    anyValue,
  ),
  { maxLength: 3 },
);

type Mode = 'valid' | 'wrong' | 'tooLong';

/**
 * A frame of the route's action whose fields are each valid, wrong or too long, plus noise keys. Wrong
 * anywhere is bad_request; else too long anywhere is too_large; else the route's cheap answer. Routes
 * whose valid frames need DynamoDB always get at least one field that is not valid.
 */
function mutatedFrame(route: string, spec: RouteSpec): Arb<Case> | undefined {
  const { fields, cheapValid } = spec;
  if (fields.length === 0 && cheapValid === undefined) return undefined;
  const modeOf = (spec: FieldSpec): Arb<Mode> =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant<Mode>('valid') },
      { weight: 2, arbitrary: fc.constant<Mode>('wrong') },
      ...(spec.tooLong === undefined ? [] : [{ weight: 2, arbitrary: fc.constant<Mode>('tooLong') }]),
    );
  const modes = fc
    .tuple(fc.tuple(...fields.map(modeOf)), fc.nat(), fc.boolean())
    .map(([chosen, index, wrong]): Mode[] => {
      if (cheapValid !== undefined || chosen.some((mode) => mode !== 'valid')) return chosen;
      // Force one field off valid, so that no frame here reaches DynamoDB.
      const at = index % fields.length;
      const forced = [...chosen];
      forced[at] = wrong || fields[at]?.tooLong === undefined ? 'wrong' : 'tooLong';
      return forced;
    });
  return modes.chain((chosen) =>
    fc
      .tuple(
        fc.tuple(
          ...fields.map((spec, index) => {
            const mode = chosen[index] ?? 'valid';
            return mode === 'tooLong' ? (spec.tooLong ?? spec.valid) : spec[mode];
          }),
        ),
        noise,
        fc.nat(),
      )
      .map(([parts, extra, at]) => {
        const entries: Entry[] = parts.flat();
        entries.splice(at % (entries.length + 1), 0, ...extra);
        const expected: Expected = chosen.includes('wrong')
          ? BAD_REQUEST
          : chosen.includes('tooLong')
            ? TOO_LARGE
            : (cheapValid ?? BAD_REQUEST);
        return { kind: `fields ${chosen.join('/') || 'none'}`, body: frameOf(route, entries), expected };
      }),
  );
}

/** A frame of valid-or-not fields whose `action` is missing, mistyped or another: bad_request. */
const wrongActionFrame = (route: string, spec: RouteSpec): Arb<Case> =>
  fc.tuple(wrongAction(route), validEntries(spec.fields), noise).map(([action, entries, extra]) => ({
    kind: 'wrong action',
    body: objectText([...action, ...entries, ...extra]),
    expected: BAD_REQUEST,
  }));

/**
 * A key given twice: JSON.parse keeps the last, so a wrong value after a valid one is bad_request (each
 * field's own wrong values: a number can be a valid `seq`, `null` a valid `title`).
 */
const duplicateKeyFrame = (route: string, spec: RouteSpec): Arb<Case> => {
  const present = (entries: Arb<readonly Entry[]>) => entries.filter((list) => list.length > 0);
  const again = fc.oneof(present(wrongAction(route)), ...spec.fields.map((field) => present(field.wrong)));
  return fc.tuple(validEntries(spec.fields), again).map(([entries, wrong]) => ({
    kind: `duplicate ${wrong.map(([key]) => key).join('+')}`,
    body: frameOf(route, [...entries, ...wrong]),
    expected: BAD_REQUEST,
  }));
};

/** Not JSON at all: random text, or a frame broken in one of the ways JSON does not allow. */
const notJson = (route: string): Arb<Case> => {
  const frame = `{"action":${json(route)},"conversationId":"c","seq":1}`;
  return fc
    .oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.nat({ max: frame.length - 1 }).map((length) => frame.slice(0, length)),
      fc.constantFrom(
        `\ufeff${frame}`,
        `\u0000${frame}`,
        `${frame}\u0000`,
        frame.replaceAll('"', "'"),
        frame.replace('}', ',}'),
        `${frame}${frame}`,
        frame.replace('"seq":1', '"seq":0x10'),
        frame.replace('"seq":1', '"seq":+1'),
        frame.replace('"seq":1', '"seq":01'),
        frame.replace('"seq":1', '"seq":.5'),
        frame.replace('"seq":1', '"seq":NaN'),
        frame.replace('"seq":1', '"seq":Infinity'),
        frame.replace('"action"', 'action'),
        frame.replace('{', '{/* x */'),
        'undefined',
        'NaN',
        '',
        ' ',
      ),
    )
    .filter((text) => !isJson(text))
    .map((body) => ({ kind: 'not JSON', body, expected: BAD_REQUEST }));
};

/** JSON, but not an object: arrays (deep, long, holding a frame), numbers, strings, literals. */
const notAnObject = (route: string): Arb<Case> =>
  fc
    .oneof(
      numberText,
      fc.constantFrom(
        'true',
        'false',
        'null',
        `[{"action":${json(route)}}]`,
        json(`{"action":${json(route)}}`),
      ),
      unicodeText().map(json),
      deepArray,
      longArray,
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }).map(json),
    )
    .map((body) => ({ kind: 'not an object', body, expected: BAD_REQUEST }));

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A frame as valid JSON with whitespace around it, which JSON allows: the same answer. */
const padded = (cases: Arb<Case>): Arb<Case> =>
  fc.tuple(cases, fc.constantFrom(' ', '\n', '\t', '\r\n', ' \n\t ')).map(([item, space]) => ({
    ...item,
    kind: `${item.kind}, padded`,
    body: `${space}${item.body}${space}`,
  }));

/**
 * Frames for `route` that need no DynamoDB call to be answered, with their expected answer. For
 * `$default` every body is refused: an object as unknown_action, anything else as bad_request.
 */
export function cheapCases(route: HostileRoute, world: HostileWorld): Arb<HostileCase> {
  if (route === '$default') {
    const anyRoute = fc.constantFrom(...ACTIONS).chain((action) => cheapCases(action, world));
    return fc
      .oneof(
        anyRoute.map((item) => item.body),
        fc.json(),
        fc.string(),
        fc.string({ unit: 'binary' }),
      )
      .map((body) => ({ route, kind: 'any body', body, expected: defaultAnswer(body) }));
  }
  const spec = routeSpec(route, world);
  const mutated = mutatedFrame(route, spec);
  const choices: { weight: number; arbitrary: Arb<Case> }[] = [
    { weight: 2, arbitrary: notJson(route) },
    { weight: 2, arbitrary: notAnObject(route) },
    { weight: 2, arbitrary: wrongActionFrame(route, spec) },
    { weight: 1, arbitrary: duplicateKeyFrame(route, spec) },
    ...(mutated === undefined
      ? []
      : [
          { weight: 8, arbitrary: mutated },
          { weight: 1, arbitrary: padded(mutated) },
        ]),
    ...spec.domainRefusals.map((arbitrary) => ({ weight: 2, arbitrary })),
  ];
  return fc.oneof(...choices).map((item) => ({ ...item, route }));
}

/** Valid frames for `route` that read DynamoDB; none for routes whose valid frames would store. */
export function storedCases(route: HostileRoute, world: HostileWorld): Arb<HostileCase> | undefined {
  if (route === '$default') return undefined;
  const { stored } = routeSpec(route, world);
  if (stored.length === 0) return undefined;
  return fc.tuple(fc.oneof(...stored), noise).map(([item, extra]) => ({
    ...item,
    route,
    // Noise keys go at the end: `{"action":…,…}` stays the frame's own.
    body: extra.length === 0 ? item.body : `${item.body.slice(0, -1)},${objectText(extra).slice(1)}`,
  }));
}

/** `$default`'s answer to any body (functions/routes/default.ts). */
export function defaultAnswer(body: string): Expected {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return BAD_REQUEST;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? { error: 'unknown_action' }
    : BAD_REQUEST;
}
