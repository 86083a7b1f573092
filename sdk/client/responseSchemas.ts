// Every kind of answer the API client can get, by name, with the zod schema the server serialises
// it with. The client itself imports only the types from here: the schemas reach a bundle only
// through validateResponse.ts, which Node always uses and the browser only in development, so
// zod stays out of the production dashboard.
import { z } from 'zod';
import { CreatedNodeJoinToken, NodeJoinTokenList, NodeList } from '../nodeWire.js';
import { ReplicaList } from '../replicaWire.js';
import { QueueList, Quota, QuotaOverride, QuotaOverrideList } from '../schedulerWire.js';
import { SecretInfo, SecretList } from '../secretWire.js';
import { ApprovalList, Task, TaskEvent, TaskEventPage, TaskPage, TaskUsageFrame } from '../taskWire.js';
import { UsageReport } from '../usageWire.js';
import {
  AuditPage,
  AuthProviders,
  CreatedToken,
  Me,
  Team,
  TeamList,
  TokenList,
  User,
  UserList,
} from '../wire.js';
import { FileListing, FileWritten, TerminalList, Workspace, WorkspaceList } from '../workspaceWire.js';

export const responseSchemas = {
  AuthProviders,
  Me,
  User,
  UserList,
  TokenList,
  CreatedToken,
  Team,
  TeamList,
  AuditPage,
  Workspace,
  WorkspaceList,
  FileListing,
  FileWritten,
  FileUploads: z.object({ items: z.array(FileWritten) }),
  TerminalList,
  Task,
  TaskPage,
  TaskEvent,
  TaskEventPage,
  TaskUsageFrame,
  ApprovalList,
  NodeList,
  NodeJoinTokenList,
  CreatedNodeJoinToken,
  ReplicaList,
  UsageReport,
  SecretInfo,
  SecretList,
  QueueList,
  Quota,
  QuotaOverride,
  QuotaOverrideList,
} as const;

export type ResponseKind = keyof typeof responseSchemas;

/** What an answer of `kind` holds once validated. */
export type ResponseOf<K extends ResponseKind> = z.output<(typeof responseSchemas)[K]>;
