// The typed client of /api/v1, one object per resource (`client.tasks.get(id)`), shared by the
// web dashboard (web/api/client.ts) and the CLI (nodeApiClient.ts adds Node's streams, sockets
// and password sessions). Nothing it imports is Node-only, and it imports zod's schemas only as
// types: answers are validated by the `validate` option (validateResponse.ts) when one is given.
import { AuditApi } from './auditApi.js';
import { AuthApi } from './authApi.js';
import { FilesApi } from './filesApi.js';
import { NodesApi } from './nodesApi.js';
import { QueueApi } from './queueApi.js';
import { ReportsApi } from './reportsApi.js';
import { SecretsApi } from './secretsApi.js';
import { TasksApi } from './tasksApi.js';
import { TeamsApi } from './teamsApi.js';
import { TerminalsApi } from './terminalsApi.js';
import { TokensApi } from './tokensApi.js';
import { type ClientOptions, Transport } from './transport.js';
import { UsersApi } from './usersApi.js';
import { WorkspacesApi } from './workspacesApi.js';

export class ApiClient {
  readonly auth: AuthApi;
  readonly users: UsersApi;
  readonly tokens: TokensApi;
  readonly teams: TeamsApi;
  readonly audit: AuditApi;
  readonly secrets: SecretsApi;
  readonly workspaces: WorkspacesApi;
  readonly files: FilesApi;
  readonly terminals: TerminalsApi;
  readonly tasks: TasksApi;
  readonly reports: ReportsApi;
  readonly nodes: NodesApi;
  readonly queue: QueueApi;
  protected readonly transport: Transport;

  constructor(readonly options: ClientOptions) {
    const t = new Transport(options);
    this.transport = t;
    this.auth = new AuthApi(t);
    this.users = new UsersApi(t);
    this.tokens = new TokensApi(t);
    this.teams = new TeamsApi(t);
    this.audit = new AuditApi(t);
    this.secrets = new SecretsApi(t);
    this.workspaces = new WorkspacesApi(t);
    this.files = new FilesApi(t);
    this.terminals = new TerminalsApi(t);
    this.tasks = new TasksApi(t);
    this.reports = new ReportsApi(t);
    this.nodes = new NodesApi(t);
    this.queue = new QueueApi(t);
  }
}
