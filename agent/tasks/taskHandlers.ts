import type { z } from 'zod';
import { taskMethods } from '../../sdk/agentProtocol.js';
import type { RpcHandler } from '../../sdk/rpcPeer.js';
import type { Handlers } from '../defineHandler.js';
import type { TaskService } from './taskService.js';

type TaskMethod = keyof typeof taskMethods;

/** Like defineHandler, for the task part of the protocol (`taskMethods`). */
function defineTaskHandler<M extends TaskMethod>(
  method: M,
  handle: (
    params: z.output<(typeof taskMethods)[M]['params']>,
  ) => Promise<z.input<(typeof taskMethods)[M]['result']>>,
): Record<M, RpcHandler> {
  const entry: RpcHandler = { params: taskMethods[method].params, handle };
  return { [method]: entry } as Record<M, RpcHandler>;
}

/** `task.*` requests; their answers are small, so no frame-size check is needed here. */
export function taskHandlers(tasks: TaskService): Handlers {
  return {
    ...defineTaskHandler('task.start', (params) => tasks.start(params)),
    ...defineTaskHandler('task.send', async ({ taskId, text }) => {
      tasks.send(taskId, text);
      return {};
    }),
    ...defineTaskHandler('task.interrupt', async ({ taskId }) => {
      tasks.interrupt(taskId);
      return {};
    }),
    ...defineTaskHandler('task.answer', async (params) => {
      tasks.answer(params);
      return {};
    }),
    ...defineTaskHandler('task.stop', async ({ taskId }) => {
      await tasks.stop(taskId);
      return {};
    }),
    ...defineTaskHandler('task.list', async () => ({ tasks: tasks.list() })),
  };
}
