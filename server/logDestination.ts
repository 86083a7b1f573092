// Where the server's log lines go, and in which form. A person watching `npm start` in a terminal
// gets short, coloured lines; a log collector (stdout not a TTY, or RC_LOG_FORMAT=json) gets one
// JSON object per line. Logs go to stderr either way, so stdout carries only the lines printed
// for people at startup (the URL, the first administrator's password).
import pino, { type DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config/configSchema.js';

export type LogFormat = NonNullable<Config['log']['format']>;

/** The configured format, else pretty exactly when stderr is a terminal. */
export function effectiveLogFormat(configured: LogFormat | undefined, stderrIsTty: boolean): LogFormat {
  return configured ?? (stderrIsTty ? 'pretty' : 'json');
}

/** One stream for the whole process: Fastify's request logger and the background loggers share it. */
export function logDestination(format: LogFormat, opts: { colorize: boolean }): DestinationStream {
  if (format === 'json') return pino.destination(2);
  return pretty({
    destination: 2,
    sync: true,
    colorize: opts.colorize,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    singleLine: true,
  });
}
