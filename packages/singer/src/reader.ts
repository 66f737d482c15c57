import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import { InputError } from './errors';
import { parseExactJson } from './exact-json';
import type { Logger } from './logging';
import { type Message, toMessage } from './messages';

/**
 * Splits a byte stream into lines without readline's per-line event overhead. Yields arrays
 * of complete lines per chunk so the consumer's loop stays synchronous within a chunk.
 */
export async function* readLineBatches(input: Readable): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of input) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    if (lines.length > 0) yield lines;
  }
  rest += decoder.end();
  if (rest !== '') yield [rest];
}

export interface ReadMessage {
  message: Message;
  /** 1-based line of the input this message came from. */
  line: number;
}

/**
 * One input line without its `\r`, or `undefined` for a blank line (skipped). Character checks,
 * not trim(): this runs once per message.
 */
export function messageText(text: string): string | undefined {
  if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
  if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) return undefined;
  return text;
}

/**
 * Turns lines into Singer messages. A message of an unknown type is skipped with one warning
 * per type; a line that is not JSON, or not a message, is an `InputError` naming the line.
 */
export class MessageParser {
  readonly #warned = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** The message on `text` (a line `messageText` kept), or `undefined` for one of an unknown type. */
  parse(text: string, line: number): Message | undefined {
    let raw: unknown;
    try {
      raw = parseExactJson(text);
    } catch (cause) {
      throw new InputError('input is not valid JSON', {
        line,
        code: 'INPUT_NOT_JSON',
        value: text,
        cause,
        hint: 'Each input line must be one Singer message as a JSON object',
      });
    }
    const message = toMessage(raw, line);
    if (message.type !== 'UNKNOWN') return message;
    if (!this.#warned.has(message.originalType)) {
      this.#warned.add(message.originalType);
      this.logger.warn(`skipping messages of unknown type ${JSON.stringify(message.originalType)} (first at line ${line})`);
    }
    return undefined;
  }
}

/**
 * Reads Singer messages, one JSON object per line, with their line numbers, in batches (one
 * per input chunk) so the consumer loops synchronously instead of awaiting every message.
 * Blank lines are skipped; see `MessageParser` for the rest.
 */
export async function* readMessageBatches(input: Readable, logger: Logger): AsyncGenerator<ReadMessage[]> {
  const parser = new MessageParser(logger);
  let line = 0;
  for await (const batch of readLineBatches(input)) {
    const messages: ReadMessage[] = [];
    for (const raw of batch) {
      line += 1;
      const text = messageText(raw);
      if (text === undefined) continue;
      const message = parser.parse(text, line);
      if (message !== undefined) messages.push({ message, line });
    }
    if (messages.length > 0) yield messages;
  }
}

/** `readMessageBatches`, one message at a time. */
export async function* readMessages(input: Readable, logger: Logger): AsyncGenerator<ReadMessage> {
  for await (const batch of readMessageBatches(input, logger)) yield* batch;
}
