import type { z } from 'zod';
import { type taskMethods, WORKSPACE_API_KEY_PLACEHOLDER } from '../../sdk/agentProtocol.js';

export type StartParams = z.output<(typeof taskMethods)['task.start']['params']>;

/** Where drivers put the claude binary in every workspace (see server/drivers/local/bwrapArgs.ts). */
export const DEFAULT_CLAUDE_PATH = '/opt/remote-claude/bin/claude';

/**
 * Claude Code's arguments for one task: headless, JSON lines both ways, permission prompts as
 * `can_use_tool` control requests on stdout (answered on stdin by `task.answer`). The behaviour
 * this relies on is recorded in docs/claudeCodeProtocol.md.
 */
export function claudeArgs(p: StartParams): string[] {
  const args = [
    '-p',
    '--input-format',
    'stream-json',
    '--output-format',
    'stream-json',
    '--verbose',
    '--permission-prompt-tool',
    'stdio',
    // Each prompt and follow-up comes back on stdout as a `user` event, so the event log (and
    // every viewer of it) has the person's side of the conversation too.
    '--replay-user-messages',
  ];
  if (p.model) args.push('--model', p.model);
  if (p.permissionMode) args.push('--permission-mode', p.permissionMode);
  if (p.maxTurns !== undefined) args.push('--max-turns', String(p.maxTurns));
  if (p.resumeSessionId) args.push('--resume', p.resumeSessionId);
  return args;
}

/**
 * Claude Code's environment: the agent's own (its token removed, in case), with the model
 * traffic pointed at the agent's model forwarder and a placeholder key (the control plane's
 * gateway adds the real credential), and the CLI's background traffic switched off: a workspace
 * has no network but the forwarders, and update checks or telemetry through the egress proxy
 * would only fail slowly or leak usage data.
 */
export function claudeEnv(agentEnv: NodeJS.ProcessEnv, modelPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...agentEnv };
  // Other credentials would win over the placeholder key or send the traffic elsewhere.
  for (const name of [
    'RC_AGENT_TOKEN',
    'ANTHROPIC_AUTH_TOKEN',
    'CLAUDE_CODE_USE_BEDROCK',
    'CLAUDE_CODE_USE_VERTEX',
  ])
    delete env[name];
  return {
    ...env,
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${modelPort}`,
    ANTHROPIC_API_KEY: WORKSPACE_API_KEY_PLACEHOLDER,
    // The model forwarder is on loopback; the egress proxy must not get those requests.
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_UPDATES: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
  };
}
