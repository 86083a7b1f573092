// The one line that says what a tool call does ("Write src/a.ts", "Bash: npm test", "Grep: TODO
// in src"), for the CLI's event log and approval lists (cli/taskOutput.ts) and the web UI's tool
// rows and approval cards (web/pages/TaskView/ToolCall.tsx, ApprovalCard.tsx).

/** Tools whose main argument is a file: "Write notes.md" rather than "Write: notes.md". */
const FILE_TOOLS = new Set(['Read', 'Write', 'Edit', 'MultiEdit', 'NotebookEdit', 'NotebookRead']);
/** Tools that search: their pattern, then where. */
const SEARCH_TOOLS = new Set(['Grep', 'Glob']);
/** The input field that says what a call does, for the other tools Claude Code has. */
const MAIN_FIELD: Record<string, string> = {
  Bash: 'command',
  WebFetch: 'url',
  WebSearch: 'query',
  Task: 'description',
  Agent: 'description',
  Skill: 'skill',
};

export interface ToolSummaryOptions {
  /** Paths under /workspace/ without that prefix (default true); false shows them whole. */
  relative?: boolean;
  /** The longest subject, in characters (default 100). */
  max?: number;
}

/** Paths inside the workspace read better without the /workspace/ prefix every one carries. */
export function shortPath(path: string): string {
  return path.startsWith('/workspace/') ? path.slice('/workspace/'.length) : path;
}

/** The first non-blank line of `text`, trimmed and cut to `max` characters ("…" marks a cut). */
export function oneLine(text: string, max: number): string {
  const lines = text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '');
  const first = (lines[0] ?? '').trim();
  if (first.length > max) return `${first.slice(0, max - 1)}…`;
  return lines.length > 1 ? `${first} …` : first;
}

/**
 * What a call works on, in one line: "src/a.ts", "npm test", "TODO in src"; for a tool not
 * listed above its description or first string argument; '' when its input has none.
 */
export function toolSubject(name: string, input: unknown, o: ToolSummaryOptions = {}): string {
  const args = (input && typeof input === 'object' && !Array.isArray(input) ? input : {}) as Record<
    string,
    unknown
  >;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
  const path = (v: unknown) => {
    const p = text(v);
    return p && o.relative !== false ? shortPath(p) : p;
  };
  let subject: string | undefined;
  if (FILE_TOOLS.has(name)) subject = path(args.file_path ?? args.notebook_path ?? args.path);
  else if (SEARCH_TOOLS.has(name) && text(args.pattern)) {
    const where = path(args.path);
    subject = where ? `${args.pattern} in ${where}` : text(args.pattern);
  } else {
    const field = MAIN_FIELD[name];
    subject = text(field ? args[field] : args.description);
  }
  subject ??= Object.values(args).map(text).find(Boolean);
  return subject ? oneLine(subject, o.max ?? 100) : '';
}

/** "Write src/a.ts", "Bash: npm test", "TodoWrite": the tool's name and its subject. */
export function toolSummary(name: string, input: unknown, o: ToolSummaryOptions = {}): string {
  const subject = toolSubject(name, input, o);
  if (!subject) return name;
  return FILE_TOOLS.has(name) ? `${name} ${subject}` : `${name}: ${subject}`;
}
