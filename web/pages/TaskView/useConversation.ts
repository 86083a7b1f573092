// The conversation for the events held so far, built incrementally: while the log only grows, the
// builder takes just the new events; any other change (an out-of-order seq sorted in) rebuilds.
import { useMemo, useRef } from 'react';
import type { TaskEvent } from '../../../sdk/taskWire.js';
import { ConversationBuilder } from './conversation.js';
import type { ConvItem } from './convItem.js';

export function useConversation(events: readonly TaskEvent[]): ConvItem[] {
  const state = useRef({
    builder: new ConversationBuilder(),
    count: 0,
    last: undefined as TaskEvent | undefined,
  });
  return useMemo(() => {
    const s = state.current;
    const grew = s.count <= events.length && (s.count === 0 || events[s.count - 1] === s.last);
    if (!grew) {
      s.builder = new ConversationBuilder();
      s.count = 0;
    }
    for (let i = s.count; i < events.length; i += 1) s.builder.add(events[i] as TaskEvent);
    s.count = events.length;
    s.last = events[events.length - 1];
    return s.builder.snapshot();
  }, [events]);
}
