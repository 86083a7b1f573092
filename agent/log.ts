type LogValue = string | number | boolean | undefined;

/**
 * Writes one line to stderr: time, event name, then key=value fields. The driver collects the
 * agent's stderr as the workspace log, so keep it to one line per event and never pass a secret
 * (the agent token, URLs with credentials, file contents).
 */
export function log(event: string, fields: Record<string, LogValue> = {}): void {
  let line = `${new Date().toISOString()} ${event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
  }
  process.stderr.write(`${line}\n`);
}

function formatValue(value: Exclude<LogValue, undefined>): string {
  const text = String(value);
  return text === '' || /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}
