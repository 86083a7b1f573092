// The one line that says what a tool call does, for its collapsed row and its approval card.
import { obj, preview, str } from './narrow.js';

/** Paths inside the workspace read better without the /workspace/ prefix every one carries. */
export function shortPath(path: string): string {
  return path.startsWith('/workspace/') ? path.slice('/workspace/'.length) : path;
}

export function toolSummary(name: string, input: unknown): string {
  const i = obj(input);
  const path = str(i.file_path) ?? str(i.notebook_path) ?? str(i.path);
  switch (name) {
    case 'Bash':
      return str(i.command) ?? preview(input, 100);
    case 'Read':
    case 'Write':
    case 'Edit':
    case 'MultiEdit':
    case 'NotebookEdit':
      return path ? shortPath(path) : preview(input, 100);
    case 'Grep':
    case 'Glob':
      return [str(i.pattern), path ? `in ${shortPath(path)}` : null].filter(Boolean).join(' ');
    case 'WebFetch':
      return str(i.url) ?? preview(input, 100);
    case 'WebSearch':
      return str(i.query) ?? preview(input, 100);
    case 'Task':
    case 'Agent':
      return str(i.description) ?? preview(input, 100);
    default:
      return str(i.description) ?? preview(input, 100);
  }
}
