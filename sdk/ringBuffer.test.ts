import { describe, expect, it } from 'vitest';
import { TERMINAL_BUFFER_BYTES } from './agentProtocol.js';
import { RingBuffer } from './ringBuffer.js';

describe('RingBuffer', () => {
  it('keeps everything while under capacity', () => {
    const ring = new RingBuffer(10);
    ring.push(Buffer.from('abc'));
    ring.push(Buffer.from('def'));
    expect(ring.snapshot().toString()).toBe('abcdef');
    expect(ring.length).toBe(6);
  });

  it('drops the oldest bytes, cutting inside a chunk when needed', () => {
    const ring = new RingBuffer(5);
    ring.push(Buffer.from('abc'));
    ring.push(Buffer.from('def'));
    expect(ring.snapshot().toString()).toBe('bcdef');
    ring.push(Buffer.from('gh'));
    expect(ring.snapshot().toString()).toBe('defgh');
  });

  it('keeps the tail of a chunk bigger than the capacity, and copies it', () => {
    const ring = new RingBuffer(4);
    const big = Buffer.from('0123456789');
    ring.push(big);
    big.fill(0);
    expect(ring.snapshot().toString()).toBe('6789');
  });

  it('caps a terminal at exactly 1 MiB however the output arrives', () => {
    expect(TERMINAL_BUFFER_BYTES).toBe(1_048_576);
    const ring = new RingBuffer(TERMINAL_BUFFER_BYTES);
    let written = 0;
    for (let i = 0; written < 3 * TERMINAL_BUFFER_BYTES; i++) {
      const chunk = Buffer.alloc(1 + ((i * 7919) % 70_000), i % 256);
      ring.push(chunk);
      written += chunk.length;
      expect(ring.length).toBeLessThanOrEqual(TERMINAL_BUFFER_BYTES);
    }
    expect(ring.length).toBe(TERMINAL_BUFFER_BYTES);
    expect(ring.snapshot().length).toBe(TERMINAL_BUFFER_BYTES);
  });

  it('stays exact through many tiny pushes (which it merges)', () => {
    const ring = new RingBuffer(3000);
    let expected = '';
    for (let i = 0; i < 10_000; i++) {
      const c = String.fromCharCode(97 + (i % 26));
      ring.push(Buffer.from(c));
      expected += c;
    }
    expect(ring.snapshot().toString()).toBe(expected.slice(-3000));
  });

  it('gives the same bytes as the tail of everything written', () => {
    const ring = new RingBuffer(1000);
    const all: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const chunk = Buffer.from(`line ${i} ${'x'.repeat(i % 13)}\n`);
      all.push(chunk);
      ring.push(chunk);
    }
    const everything = Buffer.concat(all);
    expect(ring.snapshot().equals(everything.subarray(everything.length - 1000))).toBe(true);
  });
});
