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
import type { FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import {
  type TaskEvent,
  TaskEventPage,
  TaskEventsQuery,
  type TaskUsageFrame,
} from '../../../sdk/taskWire.js';
import { ErrorEnvelope, IdParams } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import { eventJson, toWireEvent } from '../../tasks/taskEvents.js';
import type { App } from '../app.js';
import { ensureCaller } from '../guard.js';
import { trackSocket, trackStream } from '../liveConnections.js';
import type { Principal } from '../requestContext.js';
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
      const send = (frame: string) => {
        if (batch === '') {
          setImmediate(() => {
            if (!res.writableEnded) res.write(batch);
            batch = '';
          });
        }
        batch += frame;
      };
      const deliver = (e: TaskEvent) => send(`id: ${e.seq}\nevent: task_event\ndata: ${eventJson(e)}\n\n`);
      // No id: a usage frame is not in the log, so Last-Event-ID must keep naming the last event.
      s.runtime.tasks.feed.watchUsage(
        taskId,
        (f: TaskUsageFrame) => send(`event: task_usage\ndata: ${JSON.stringify(f)}\n\n`),
        left.signal,
      );
      try {
        await s.runtime.tasks.feed.follow(taskId, after, deliver, left.signal);
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
      const raw = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      let corked = false;
      const left = new AbortController();
      socket.on('close', () => left.abort());
      trackSocket(s.liveConnections, req, socket, stillVisible(taskId));
      const send = (frame: string) => {
        if (socket.readyState !== socket.OPEN) return;
        if (raw && !corked) {
          corked = true;
          raw.cork();
          setImmediate(() => {
            corked = false;
            raw.uncork();
          });
        }
        socket.send(frame);
      };
      const deliver = (e: TaskEvent) => send(eventJson(e));
      s.runtime.tasks.feed.watchUsage(taskId, (f) => send(JSON.stringify(f)), left.signal);
      try {
        await s.runtime.tasks.feed.follow(taskId, after, deliver, left.signal);
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
