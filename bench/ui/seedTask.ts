// A finished task with N stream-json events of the shapes Claude Code writes (init, assistant
// text in Markdown, tool calls, tool results, turn results), stored straight into the event log so
// the benchmark measures the UI and the API, not the model.
import type { Services } from '../../server/services.js';

export async function seedTask(
  s: Services,
  ownerId: string,
  workspaceId: string,
  count: number,
): Promise<string> {
  const task = await s.tasks.create({
    ownerId,
    workspaceId,
    repository: 'https://example.invalid/bench/app.git',
    prompt: `A task with ${count} events`,
    permissionMode: 'default',
  });
  for (let seq = 1; seq <= count; seq += 1) {
    const [type, payload] = eventAt(seq);
    await s.tasks.appendEvent(task.id, seq, type, JSON.stringify(payload));
  }
  await s.tasks.update(task.id, { status: 'succeeded', turns: Math.ceil(count / 50), cost_usd: 1.2345 });
  return task.id;
}

function eventAt(seq: number): [string, unknown] {
  if (seq === 1)
    return [
      'system',
      {
        type: 'system',
        subtype: 'init',
        session_id: 'bench',
        model: 'claude-bench',
        tools: ['Bash', 'Edit'],
      },
    ];
  const id = `toolu_${Math.floor(seq / 4)}`;
  switch (seq % 50 === 0 ? 4 : seq % 4) {
    case 0:
      return [
        'assistant',
        {
          type: 'assistant',
          message: {
            role: 'assistant',
            content: [
              {
                type: 'text',
                text: `Step ${seq}: I looked at **src/module${seq}.ts** and found that \`parse()\` drops the last line.\n\n- first point\n- second point`,
              },
            ],
          },
        },
      ];
    case 1:
      return [
        'assistant',
        {
          type: 'assistant',
          message: {
            role: 'assistant',
            content: [
              {
                type: 'tool_use',
                id,
                name: 'Bash',
                input: { command: `npm test -- module${seq}`, description: 'run the tests' },
              },
            ],
          },
        },
      ];
    case 2:
      return [
        'user',
        {
          type: 'user',
          message: {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: id,
                content: `PASS src/module${seq}.test.ts\n  ✓ parses (3 ms)\n`,
                is_error: false,
              },
            ],
          },
        },
      ];
    case 3:
      return [
        'assistant',
        {
          type: 'assistant',
          message: {
            role: 'assistant',
            content: [
              {
                type: 'tool_use',
                id: `${id}e`,
                name: 'Edit',
                input: {
                  file_path: `/workspace/src/module${seq}.ts`,
                  old_string: 'return lines;',
                  new_string: 'return lines.concat(rest);',
                },
              },
            ],
          },
        },
      ];
    default:
      return [
        'result',
        {
          type: 'result',
          subtype: 'success',
          is_error: false,
          duration_ms: 1234,
          num_turns: 12,
          total_cost_usd: 0.0123,
          result: 'Done.',
        },
      ];
  }
}
