/**
 * The AWS Query wire protocol that `@aws-sdk/client-sns` speaks: form-encoded `Action=…&Version=…`
 * requests, XML responses, and `<ErrorResponse>` errors whose `Code` the SDK turns into its exception
 * classes (`NotFound` → `NotFoundException`, `EndpointDisabled` → `EndpointDisabledException`, …).
 */
const NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

export class QueryError extends Error {
  override readonly name = 'QueryError';
  readonly code: string;
  readonly statusCode: number;
  constructor(code: string, message: string, statusCode = 400) {
    super(message);
    this.code = code;
    this.statusCode = statusCode;
  }
}

export function parseQueryBody(body: string): Map<string, string> {
  return new Map(new URLSearchParams(body));
}

/** `Attributes.entry.N.key` / `Attributes.entry.N.value` pairs as a record. */
export function attributeMap(params: Map<string, string>, prefix = 'Attributes'): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, key] of params) {
    const index = new RegExp(`^${prefix}\\.entry\\.(\\d+)\\.key$`).exec(name)?.[1];
    if (index === undefined) continue;
    attributes[key] = params.get(`${prefix}.entry.${index}.value`) ?? '';
  }
  return attributes;
}

/** `<{Action}Response><{Action}Result>{result}</…Result><ResponseMetadata>…</…></…Response>`. */
export function queryResponse(action: string, resultXml: string | undefined, requestId: string): string {
  const result = resultXml === undefined ? '' : `<${action}Result>${resultXml}</${action}Result>`;
  return (
    `<${action}Response xmlns="${NAMESPACE}">${result}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

export function queryErrorResponse(error: QueryError, requestId: string): string {
  const type = error.statusCode >= 500 ? 'Receiver' : 'Sender';
  return (
    `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

export function attributesXml(attributes: Record<string, string>): string {
  const entries = Object.entries(attributes)
    .map(([key, value]) => `<entry><key>${escapeXml(key)}</key><value>${escapeXml(value)}</value></entry>`)
    .join('');
  return `<Attributes>${entries}</Attributes>`;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
