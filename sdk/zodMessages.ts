// Validation messages phrased as the rule a field broke ("must be at most 100 characters"), so
// an error reads "body.name must be at most 100 characters". Applied once, process-wide, when
// sdk/wire.ts loads; schemas that set their own message keep it.
import { z } from 'zod';

type Issue = z.core.$ZodRawIssue;

function bound(issue: Issue, word: 'least' | 'most'): string | undefined {
  const i = issue as { origin?: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean };
  const n = String(word === 'least' ? i.minimum : i.maximum);
  switch (i.origin) {
    case 'string':
      if (word === 'least' && n === '1') return 'must not be empty';
      return `must be at ${word} ${n} character${n === '1' ? '' : 's'}`;
    case 'array':
    case 'set':
      return `must have at ${word} ${n} item${n === '1' ? '' : 's'}`;
    case 'number':
    case 'int':
    case 'bigint':
      return word === 'least'
        ? `must be ${i.inclusive === false ? '>' : '≥'} ${n}`
        : `must be ${i.inclusive === false ? '<' : '≤'} ${n}`;
    default:
      return undefined;
  }
}

export function ruleMessage(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      if (issue.expected === 'int') return 'must be an integer';
      return `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    case 'too_small':
      return bound(issue, 'least');
    case 'too_big':
      return bound(issue, 'most');
    case 'invalid_value':
      return `must be one of ${(issue as { values: unknown[] }).values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `must be a valid ${(issue as { format: string }).format}`;
    default:
      return undefined;
  }
}

z.config({ customError: ruleMessage });
