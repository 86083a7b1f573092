// `rclaude task approve` and `rclaude task deny`: answer a tool call Claude Code asked permission
// for. Without an approval id they answer the task's only pending one.
import type { Command } from 'commander';
import type { NodeApiClient } from '../../sdk/client/nodeApiClient.js';
import { type Approval, ApprovalBody } from '../../sdk/taskWire.js';
import { toolSummary } from '../../sdk/toolSummary.js';
import { CliError, usageError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { flagError } from '../flagError.js';
import { json } from '../output.js';
import { shortId } from '../resolveRef.js';
import { resolveTask } from '../resolveTask.js';

type Flags = ServerOptions & { json?: boolean; remember?: boolean; message?: string };

export function registerTaskApprovals(task: Command, ctx: CliContext): void {
  for (const decision of ['allow', 'deny'] as const) {
    const verb = decision === 'allow' ? 'approve' : 'deny';
    const cmd = task
      .command(verb)
      .description(
        decision === 'allow'
          ? 'let Claude Code make a tool call it asked permission for'
          : 'refuse a tool call Claude Code asked permission for; it is told why and carries on',
      )
      .argument('<id>', 'task id, or its start')
      .argument('[approvalId]', 'which approval (or its start); default: the only pending one');
    if (decision === 'allow')
      cmd.option('--remember', 'also allow this tool for the rest of the task without asking');
    else cmd.option('--message <text>', 'tell Claude Code why (default: "The user denied this tool call.")');
    cmd.option('--json', 'print JSON');
    addServerOptions(cmd).action(async (ref: string, approvalRef: string | undefined, o: Flags) => {
      const parsed = ApprovalBody.safeParse({
        decision,
        ...(o.message !== undefined ? { message: o.message } : {}),
        ...(o.remember ? { remember: true } : {}),
      });
      if (!parsed.success) throw usageError(flagError(parsed.error).message);
      if (approvalRef !== undefined && !/^[^\s/]{1,200}$/.test(approvalRef))
        throw usageError(`[approvalId] must be an approval id or its start, got "${approvalRef}"`);
      const client = ctx.client(o);
      const t = await resolveTask(client, ref);
      const approval = await pickApproval(client, t.id, verb, approvalRef);
      const after = await client.tasks.answerApproval(t.id, approval.id, parsed.data);
      if (o.json) return ctx.out(json(after));
      const what = toolSummary(approval.toolName, approval.input, { relative: false });
      const s = shortId(t.id);
      ctx.out(
        decision === 'deny'
          ? `Denied ${what} for task ${s}.`
          : o.remember
            ? `Allowed ${what}, and ${approval.toolName} from now on, for task ${s}.`
            : `Allowed ${what} for task ${s}.`,
      );
    });
  }
}

/**
 * The pending approval `ref` names (its id or the only pending id it starts), or the only pending
 * one when `ref` is not given. An id that is not pending is passed on as it is, for the server to
 * say whether it was already answered or never existed.
 */
async function pickApproval(
  client: NodeApiClient,
  taskId: string,
  verb: string,
  ref: string | undefined,
): Promise<Pick<Approval, 'id' | 'toolName' | 'input'>> {
  const pending = (await client.tasks.approvals(taskId, 'pending')).items;
  const s = shortId(taskId);
  if (ref !== undefined) {
    const exact = pending.find((a) => a.id === ref);
    const starts = pending.filter((a) => a.id.startsWith(ref));
    if (exact) return exact;
    if (starts.length === 1) return starts[0] as Approval;
    if (starts.length > 1)
      throw usageError(`approval id ${ref} is ambiguous: ${list(starts)}; give more characters`);
    return { id: ref, toolName: 'the tool call', input: {} };
  }
  if (pending.length === 1) return pending[0] as Approval;
  if (pending.length === 0) throw new CliError(`task ${s} has no pending approvals`);
  throw usageError(
    `task ${s} has ${pending.length} pending approvals; name one with \`rclaude task ${verb} ${s} <approvalId>\`: ${list(pending)}`,
  );
}

/** "f78a8f3b-… (Write /workspace/x), 0c1d… (Bash: ls)". */
function list(approvals: Approval[]): string {
  return approvals
    .map((a) => `${a.id} (${toolSummary(a.toolName, a.input, { relative: false })})`)
    .join(', ');
}
