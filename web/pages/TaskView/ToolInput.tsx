// What a tool call asks to do: a diff for file changes, the command for Bash, else its input as
// JSON. Shared by the conversation's tool rows and the approval cards.
import { useMemo } from 'react';
import { DiffView } from './DiffView.js';
import { obj, str } from './narrow.js';
import css from './taskView.module.css';
import { toolDiff } from './toolDiff.js';

export function ToolInput({
  name,
  input,
  maxHeight,
}: {
  name: string;
  input: unknown;
  maxHeight?: number | string;
}) {
  const diff = useMemo(() => toolDiff(name, input), [name, input]);
  if (diff) return <DiffView diff={diff} maxHeight={maxHeight} />;
  const i = obj(input);
  const command = name === 'Bash' ? str(i.command) : null;
  const description = str(i.description);
  if (command !== null) {
    return (
      <div>
        {description && <div className={css.label}>{description}</div>}
        <pre className={css.pre} style={{ maxHeight }}>
          $ {command}
        </pre>
      </div>
    );
  }
  return (
    <pre className={css.pre} style={{ maxHeight }}>
      {pretty(input)}
    </pre>
  );
}

function pretty(v: unknown): string {
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
}
