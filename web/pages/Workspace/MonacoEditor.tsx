// Monaco, loaded only when a file is opened (FileEditor imports this module with React.lazy), so
// its few MB stay out of every other page. Everything comes from the monaco-editor package
// itself and its worker is bundled by Vite (`?worker`): no CDN, so it works offline and under
// the server's CSP (script-src 'self'; worker-src 'self' blob:). The package's exports map
// "monaco-editor/<x>" to esm/vs/<x>.js, so these are esm/vs/editor/editor.api.js and so on.
import * as monaco from 'monaco-editor/editor/editor.api';
// The bare API has no find widget, suggestions, folding or context menu; these add them, and
// the syntax colouring of every basic language (each loaded when a file of it opens).
import 'monaco-editor/features/register.all';
import 'monaco-editor/basic-languages/monaco.contribution';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import { useEffect, useRef } from 'react';

self.MonacoEnvironment = { getWorker: () => new EditorWorker() };

export interface MonacoEditorProps {
  /** The text when the editor mounts; later changes come from the user (remount for a new file). */
  initialValue: string;
  language: string;
  readOnly: boolean;
  dark: boolean;
  onChange: (value: string) => void;
  /** Ctrl/⌘+S inside the editor. */
  onSave: () => void;
  /** Replaces the whole text (a reload after the file changed on disk) when it changes. */
  replaceWith?: { text: string; version: number };
}

export default function MonacoEditor(props: MonacoEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  // The latest callbacks, so the editor's commands never call a stale closure.
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const p = latest.current;
    const ed = monaco.editor.create(el, {
      value: p.initialValue,
      language: p.language,
      readOnly: p.readOnly,
      theme: p.dark ? 'vs-dark' : 'vs',
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 13,
      scrollBeyondLastLine: false,
      tabSize: 2,
    });
    editor.current = ed;
    ed.onDidChangeModelContent(() => latest.current.onChange(ed.getValue()));
    ed.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => latest.current.onSave());
    return () => {
      ed.getModel()?.dispose();
      ed.dispose();
      editor.current = null;
    };
  }, []);

  useEffect(() => {
    monaco.editor.setTheme(props.dark ? 'vs-dark' : 'vs');
  }, [props.dark]);

  useEffect(() => {
    editor.current?.updateOptions({ readOnly: props.readOnly });
  }, [props.readOnly]);

  const replaced = props.replaceWith?.version;
  useEffect(() => {
    const ed = editor.current;
    const text = latest.current.replaceWith?.text;
    if (ed && replaced !== undefined && text !== undefined && text !== ed.getValue()) ed.setValue(text);
  }, [replaced]);

  return <div ref={host} style={{ height: '100%', width: '100%' }} data-testid="monaco-host" />;
}
