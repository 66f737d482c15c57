import { InputError } from './errors';

/** A JSON Schema as Singer uses it: a loose draft-04/07 subset. */
/**
 * A JSON Schema as taps write them, from draft 4 to 2020-12: `items` may be a list (draft-7
 * tuples) or a boolean schema, and `required` a flag on a property (draft 3).
 */
export interface JsonSchema {
  type?: string | string[];
  format?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema | JsonSchema[] | boolean;
  anyOf?: JsonSchema[];
  required?: string[] | boolean;
  additionalProperties?: boolean | JsonSchema;
  [keyword: string]: unknown;
}

export interface SchemaMessage {
  type: 'SCHEMA';
  stream: string;
  schema: JsonSchema;
  key_properties: string[];
  bookmark_properties?: string[];
}

export interface RecordMessage {
  type: 'RECORD';
  stream: string;
  record: Record<string, unknown>;
  time_extracted?: string;
  version?: number;
}

export interface StateMessage {
  type: 'STATE';
  value: unknown;
}

export interface ActivateVersionMessage {
  type: 'ACTIVATE_VERSION';
  stream: string;
  version: number;
}

export type Message = SchemaMessage | RecordMessage | StateMessage | ActivateVersionMessage;
export type MessageType = Message['type'];

/** A message of a type this SDK does not know; the spec permits any type, so it is skipped. */
export interface UnknownMessage {
  type: 'UNKNOWN';
  originalType: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(message: string, line: number, field?: string): never {
  throw new InputError(message, { line, column: field, code: 'INPUT_INVALID_MESSAGE' });
}

function requireStream(raw: Record<string, unknown>, line: number): string {
  const stream = raw.stream;
  if (typeof stream !== 'string' || stream === '') fail('message has no "stream" name', line, 'stream');
  return stream;
}

/**
 * Checks a parsed JSON value is a Singer message and returns it typed. `type` is read
 * case-insensitively; unknown extra fields are kept but ignored.
 */
export function toMessage(raw: unknown, line: number): Message | UnknownMessage {
  if (!isPlainObject(raw)) fail('a Singer message must be a JSON object', line);
  const rawType = raw.type;
  if (typeof rawType !== 'string') fail('message has no "type"', line, 'type');
  const type = rawType.toUpperCase();
  switch (type) {
    case 'RECORD': {
      requireStream(raw, line);
      if (!isPlainObject(raw.record)) fail('RECORD has no "record" object', line, 'record');
      // The hot path: normalise the type in place rather than copy a million objects.
      raw.type = 'RECORD';
      return raw as unknown as RecordMessage;
    }
    case 'SCHEMA': {
      const stream = requireStream(raw, line);
      if (!isPlainObject(raw.schema)) fail('SCHEMA has no "schema" object', line, 'schema');
      const keys = raw.key_properties ?? [];
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
        fail('SCHEMA "key_properties" must be a list of property names', line, 'key_properties');
      }
      const bookmarks = raw.bookmark_properties;
      if (bookmarks !== undefined && bookmarks !== null && !Array.isArray(bookmarks)) {
        fail('SCHEMA "bookmark_properties" must be a list', line, 'bookmark_properties');
      }
      const message: SchemaMessage = {
        type: 'SCHEMA',
        stream,
        schema: raw.schema as JsonSchema,
        key_properties: keys as string[],
      };
      if (Array.isArray(bookmarks)) message.bookmark_properties = bookmarks as string[];
      return message;
    }
    case 'STATE':
      if (!('value' in raw)) fail('STATE has no "value"', line, 'value');
      return { type: 'STATE', value: raw.value };
    case 'ACTIVATE_VERSION': {
      const stream = requireStream(raw, line);
      const version = raw.version;
      if (typeof version !== 'number' || !Number.isFinite(version)) {
        fail('ACTIVATE_VERSION "version" must be a number', line, 'version');
      }
      return { type: 'ACTIVATE_VERSION', stream, version };
    }
    default:
      return { type: 'UNKNOWN', originalType: rawType };
  }
}
