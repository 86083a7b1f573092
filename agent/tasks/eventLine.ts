import { MAX_AGENT_FRAME_BYTES, taskNotifications } from '../../sdk/agentProtocol.js';
import type { SplitLine } from './lineSplitter.js';

/** The longest `line` a `task.event` may carry, from its schema (900,000 characters). */
export const MAX_EVENT_LINE_CHARS = (taskNotifications['task.event'].shape.line.maxLength ??
  900_000) as number;
/**
 * Room for the line once JSON-encoded inside its notification: the frame limit less the envelope
 * (method, a 64-character task id, the seq). Escaping can double a line of quotes or backslashes
 * and multiply control characters six-fold, so this is checked apart from the character count.
 */
export const MAX_EVENT_LINE_JSON_BYTES = MAX_AGENT_FRAME_BYTES - 1024;
/** How much of an oversized line's start is kept in its placeholder. */
export const OVERSIZED_HEAD_CHARS = 64 * 1024;
/** How many bytes of a stdout line the splitter keeps: anything longer is cut anyway. */
export const LINE_KEEP_BYTES = 4 * MAX_EVENT_LINE_CHARS;

/**
 * The event for one stdout line of Claude Code. A line that would not fit one `task.event`
 * (more than 900,000 characters, or more than a frame once escaped) is replaced by
 *
 *   {"type":"rc_oversized","bytes":<its size>,"originalType":"user","head":"<its first 64 KiB>"}
 *
 * which is valid JSON, says what was lost, and keeps the start for a person to look at. Such
 * lines are rare (a tool result that read a huge file) and the conversation itself is unharmed:
 * Claude Code's own transcript in ~/.claude keeps the full message.
 */
export function eventLine({ text, totalBytes, complete }: SplitLine): string {
  if (complete && fits(text)) return text;
  const type = complete ? typeOf(text) : undefined;
  let headChars = Math.min(text.length, OVERSIZED_HEAD_CHARS);
  for (;;) {
    const placeholder = JSON.stringify({
      type: 'rc_oversized',
      bytes: totalBytes,
      ...(type && { originalType: type }),
      head: wholeCharacters(text, headChars),
    });
    if (fits(placeholder) || headChars === 0) return placeholder;
    headChars = Math.floor(headChars / 2);
  }
}

function fits(line: string): boolean {
  return (
    line.length <= MAX_EVENT_LINE_CHARS &&
    Buffer.byteLength(JSON.stringify(line)) <= MAX_EVENT_LINE_JSON_BYTES
  );
}

/**
 * The message's `type`, so a viewer knows what was cut. Parsing is the only reliable way (the CLI
 * does not always put `type` first) and costs little next to the rarity of such lines; a line the
 * splitter already cut is no longer JSON.
 */
function typeOf(text: string): string | undefined {
  try {
    const type = (JSON.parse(text) as { type?: unknown })?.type;
    return typeof type === 'string' ? type.slice(0, 100) : undefined;
  } catch {
    return undefined;
  }
}

/** The first `chars` UTF-16 units, without a lone high surrogate at the cut. */
function wholeCharacters(text: string, chars: number): string {
  const code = text.charCodeAt(chars - 1);
  return code >= 0xd800 && code <= 0xdbff ? text.slice(0, chars - 1) : text.slice(0, chars);
}
