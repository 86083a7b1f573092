// What a terminal attached again replays, minus what `rclaude ws ssh` printed already.
import { describe, expect, it } from 'vitest';
import { PrintedTail, unseenReplay } from './terminalReplay.js';

const b = (s: string) => Buffer.from(s);
const unseen = (printed: string, replay: string) => unseenReplay(b(printed), b(replay)).toString();
const prompt = '$ ';

describe('unseenReplay', () => {
  it('keeps only what came after the printed end', () => {
    // The buffer holds all that was printed, and what the shell wrote while disconnected.
    expect(unseen(`${prompt}echo hi\r\nhi\r\n${prompt}`, `${prompt}echo hi\r\nhi\r\n${prompt}late\r\n`)).toBe(
      'late\r\n',
    );
    // Nothing new: nothing printed.
    expect(unseen(`${prompt}echo hi\r\nhi\r\n`, `${prompt}echo hi\r\nhi\r\n`)).toBe('');
  });

  it('finds the printed end when the buffer starts before or inside what was printed', () => {
    const older = 'x'.repeat(1000);
    const printed = `${prompt}${'line\r\n'.repeat(100)}done\r\n`;
    // The buffer holds older output than this session printed (it attached with --attach later).
    expect(unseen(printed, `${older}${printed}after\r\n`)).toBe('after\r\n');
    // The buffer dropped the start of what was printed.
    expect(unseen(printed, `${printed.slice(300)}after\r\n`)).toBe('after\r\n');
    // Only the last few printed bytes are still buffered.
    expect(unseen(printed, `${printed.slice(-20)}after\r\n`)).toBe('after\r\n');
  });

  it('takes the latest matching place, so repeated output is not printed again', () => {
    const printed = `${prompt}ls\r\na b\r\n${prompt}ls\r\na b\r\n`;
    expect(unseen(printed, `${printed}${prompt}`)).toBe(prompt);
  });

  it('prints the whole replay when it shares nothing with what was printed', () => {
    expect(unseen('', 'all of it')).toBe('all of it');
    expect(unseen('something else entirely, long enough', 'a new screen\r\n')).toBe('a new screen\r\n');
    // A one-byte coincidence (a newline) is not taken for the printed end.
    expect(unseen('printed\r\n', '\nnew output')).toBe('\nnew output');
  });
});

describe('PrintedTail', () => {
  it('keeps what was added, in order', () => {
    const t = new PrintedTail();
    t.add(b('ab'));
    t.add(b('cd'));
    expect(t.bytes().toString()).toBe('abcd');
  });
});
