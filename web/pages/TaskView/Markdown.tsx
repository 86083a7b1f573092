// Assistant text as Markdown: marked turns it into HTML and DOMPurify strips anything active from
// it, since the text comes from a model that read files and web pages it was not asked to trust.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';
import { useMemo } from 'react';

const marked = new Marked({ gfm: true, breaks: false, async: false });

// Links open in a new tab and carry no referrer or opener back into the app.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

// Rows leave and re-enter the virtualised list while scrolling; remembering recent renderings
// keeps that cheap. Bounded, oldest first out.
const cache = new Map<string, string>();
const CACHE_MAX = 500;

export function renderMarkdown(text: string): string {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const html = DOMPurify.sanitize(marked.parse(text, { async: false }));
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(text, html);
  return html;
}

export function Markdown({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return (
    <div
      className="markdown"
      style={{ overflowWrap: 'anywhere' }}
      // biome-ignore lint/security/noDangerouslySetInnerHtml: sanitised by DOMPurify above.
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
