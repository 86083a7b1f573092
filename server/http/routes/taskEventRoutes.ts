// GET /api/v1/tasks/:id/events?after=N — the task's event log. Three ways to read it:
// - a JSON page `{items, next}` (default; `limit`),
// - Server-Sent Events with `Accept: text/event-stream`: history after N, then the live tail,
//   each as `id: <seq>\nevent: task_event\ndata: <json>`; a reconnecting EventSource resumes
//   from Last-Event-ID;
// - a WebSocket: the same events as JSON text frames.
// Both streams deliver every seq once, in order, with no gap between history and live, whichever
// replica holds the task's agent (TaskFeed: notices on the pubsub, rows from the store). Between
// the events they carry live usage frames (TaskUsageFrame: `event: task_usage` without an id, or
// a text frame without a seq) whenever the gateway meters one of the task's model requests.
// A viewer's unread backlog is bounded (MAX_VIEWER_BACKLOG_BYTES): the history waits for it page
// by page; live, one that falls further behind is cut off with its resume point — the WebSocket
// closes with WS_TOO_SLOW and `after=<seq>` in its reason, the SSE stream ends with
// `event: task_resume` and `{"after":<seq>}` — and reconnects from the store.
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import { MAX_VIEWER_BACKLOG_BYTES, SSE_RESUME_EVENT, WS_TOO_SLOW } from '../../../sdk/limits.js';
import {
  type TaskEvent,
  TaskEventPage,
  TaskEventsQuery,
  type TaskUsageFrame,
} from '../../../sdk/taskWire.js';
import { ErrorEnvelope, IdParams } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import { eventBytes, eventSseFrame, toWireEvent } from '../../tasks/taskEvents.js';
import type { App } from '../app.js';
import { ensureCaller } from '../guard.js';
import { trackSocket, trackStream } from '../liveConnections.js';
import type { Principal } from '../requestContext.js';
import { backlogBelow, dropIfStalled } from '../viewerBacklog.js';
import { sendWsError, WS_INTERNAL_ERROR } from '../wsErrors.js';
import { visibleTask } from './taskRoutes.js';

const KEEPALIVE_MS = 15_000;
export function taskEventRoutes(app: App, s: Services): void {
  const authorised = new WeakMap<FastifyRequest, string>();
  /** After a role change: the task must still be visible to its viewer. */
  const stillVisible = (taskId: string) => async (me: Principal) => {
    await visibleTask(s, me, taskId);
  };

  app.route({
    method: 'GET',
    url: '/api/v1/tasks/:id/events',
    schema: {
      tags: ['tasks'],
      summary:
        'The event log after `after`: a JSON page, or live as SSE (Accept: text/event-stream) or a WebSocket.',
      params: IdParams,
      querystring: TaskEventsQuery,
      response: { 200: TaskEventPage, 400: ErrorEnvelope, 401: ErrorEnvelope, 404: ErrorEnvelope },
    },
    preHandler: async (req) => {
      const task = await visibleTask(s, await ensureCaller(s, req), req.params.id);
      authorised.set(req, task.id);
    },
    handler: async (req, reply) => {
      const taskId = authorised.get(req) as string;
      const lastEventId = Number(req.headers['last-event-id']);
      const after =
        Number.isInteger(lastEventId) && lastEventId > req.query.after ? lastEventId : req.query.after;
      if (!(req.headers.accept ?? '').includes('text/event-stream')) {
        const rows = await s.tasks.events(taskId, req.query.after, req.query.limit);
        const items = rows.map(toWireEvent);
        return {
          items,
          next: rows.length === req.query.limit ? (items[items.length - 1]?.seq ?? null) : null,
        };
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': remote-claude task events\n\n');
      trackStream(s.liveConnections, req, res, stillVisible(taskId));
      // Everything that must end with the connection is set up before the history is read: a
      // viewer that leaves in the middle of a long replay must not leave a listener or a timer.
      const left = new AbortController();
      const keepalive = s.clock.every(KEEPALIVE_MS, () => {
        if (!res.writableEnded) res.write(': keepalive\n\n');
      });
      const leave = () => {
        keepalive();
        left.abort();
      };
      if (res.destroyed) leave();
      else res.on('close', leave);
      // Events of one tick go out in one write: at a thousand events a second to hundreds of
      // viewers, a write per event per viewer is what the CPU would spend its time on.
      let batch = '';
      /** The last seq in a write so far: where this viewer resumes if it is cut off. */
      let lastSent = after;
      /** While the history is replayed its pages wait for the viewer instead (beforePage). */
      let replaying = true;
      let cut = false;
      const cutOff = () => {
        // It does not read what it is sent. Rather than hold the task's whole stream for it, end
        // the stream with where to resume; the events after that are in the store.
        cut = true;
        leave();
        const end = `${batch}event: ${SSE_RESUME_EVENT}\ndata: ${JSON.stringify({ after: lastSent })}\n\n`;
        batch = '';
        res.end(end);
        dropIfStalled(res);
      };
      const send = (frame: string, seq?: number) => {
        if (cut || res.writableEnded) return;
        // The batch in characters: near enough its bytes for a bound of a megabyte.
        if (!replaying && res.writableLength + batch.length > MAX_VIEWER_BACKLOG_BYTES) return cutOff();
        if (batch === '') {
          setImmediate(() => {
            if (!res.writableEnded) res.write(batch);
            batch = '';
          });
        }
        batch += frame;
        if (seq !== undefined) lastSent = seq;
      };
      const deliver = (e: TaskEvent) => send(eventSseFrame(e), e.seq);
      // No id: a usage frame is not in the log, so Last-Event-ID must keep naming the last event.
      s.runtime.tasks.feed.watchUsage(
        taskId,
        (f: TaskUsageFrame) => send(`event: task_usage\ndata: ${JSON.stringify(f)}\n\n`),
        left.signal,
      );
      try {
        await s.runtime.tasks.feed.follow(taskId, after, deliver, left.signal, async () => {
          await new Promise((r) => setImmediate(r)); // the page's batch is written
          if (!(await backlogBelow(res, MAX_VIEWER_BACKLOG_BYTES, left.signal)) && !cut) cutOff();
        });
        replaying = false;
      } catch (err) {
        // The status line is gone already; the stream ends and the EventSource reconnects.
        req.log.error({ err, taskId }, 'could not replay task events');
        res.end();
      }
    },
    wsHandler: async (socket: WebSocket, req) => {
      const taskId = authorised.get(req) as string;
      const after = (req.query as { after: number }).after;
      // One frame per event, but the frames of one tick leave in one socket write (cork), and
      // each event is serialised once for all viewers.
      const raw = (socket as unknown as { _socket?: Socket })._socket;
      let corked = false;
      const left = new AbortController();
      socket.on('close', () => left.abort());
      trackSocket(s.liveConnections, req, socket, stillVisible(taskId));
      /** The last seq handed to the socket: where this viewer resumes if it is cut off. */
      let lastSent = after;
      /** While the history is replayed its pages wait for the viewer instead (beforePage). */
      let replaying = true;
      const cutOff = () => {
        // It does not read what it is sent: cut it off with its resume point instead of holding
        // the task's whole stream for it. The close frame queues behind what it has not read;
        // ws destroys the socket if the close handshake does not finish in 30 s.
        left.abort();
        socket.close(WS_TOO_SLOW, `viewer too slow; resume with after=${lastSent}`);
      };
      const send = (frame: Buffer | string, seq?: number) => {
        if (socket.readyState !== socket.OPEN) return;
        if (!replaying && socket.bufferedAmount > MAX_VIEWER_BACKLOG_BYTES) return cutOff();
        if (raw && !corked) {
          corked = true;
          raw.cork();
          setImmediate(() => {
            corked = false;
            raw.uncork();
          });
        }
        // A Buffer, encoded once for every viewer, goes out as a text frame without a copy.
        socket.send(frame, { binary: false });
        if (seq !== undefined) lastSent = seq;
      };
      const deliver = (e: TaskEvent) => send(eventBytes(e), e.seq);
      s.runtime.tasks.feed.watchUsage(taskId, (f) => send(JSON.stringify(f)), left.signal);
      try {
        await s.runtime.tasks.feed.follow(taskId, after, deliver, left.signal, async () => {
          if (!raw) return;
          await new Promise((r) => setImmediate(r)); // the page is uncorked
          const ok = await backlogBelow(raw, MAX_VIEWER_BACKLOG_BYTES, left.signal);
          if (!ok && socket.readyState === socket.OPEN) cutOff();
        });
        replaying = false;
      } catch (err) {
        sendWsError(socket, err, {
          log: req.log,
          context: { taskId },
          close: { code: WS_INTERNAL_ERROR, reason: 'task events failed' },
        });
      }
    },
  });
}
