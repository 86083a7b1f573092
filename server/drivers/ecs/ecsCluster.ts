// The cluster as GET /api/v1/nodes shows it: each EC2 container instance a node (its registered
// and remaining CPU and memory, draining as cordoned), or Fargate as one node with no capacity
// limit — AWS sizes it. What the installation's tasks reserve comes from the tasks themselves.
import {
  type ContainerInstance,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type DesiredStatus,
  type ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import type { NodeItem } from '../../../sdk/nodeWire.js';
import { DriverError } from '../runtimeDriver.js';
import type { EcsDriverConfig } from './ecsDriverConfig.js';
import { isFargate, startedBy } from './taskDefinition.js';
import { isLive } from './taskState.js';

const MiB = 1024 * 1024;
type Call = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export class EcsCluster {
  readonly fargate: boolean;

  constructor(
    private readonly ecs: ECSClient,
    private readonly config: EcsDriverConfig,
    private readonly call: Call,
  ) {
    this.fargate = isFargate(config);
  }

  /** The installation's tasks ECS lists as desired RUNNING (startedBy `rc-<installation>`), with tags. */
  installationTasks(): Promise<Task[]> {
    return this.listTasks({ startedBy: startedBy(this.config.installation) });
  }

  /** The tasks ListTasks gives for `filter`, every page, described with tags. */
  async listTasks(filter: {
    startedBy?: string;
    family?: string;
    desiredStatus?: DesiredStatus;
  }): Promise<Task[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('ListTasks', () =>
        this.ecs.send(new ListTasksCommand({ cluster: this.config.cluster, ...filter, nextToken })),
      );
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return this.describeTasks(arns);
  }

  /** The tasks, with tags, 100 to a call (DescribeTasks' most). */
  async describeTasks(arns: readonly string[]): Promise<Task[]> {
    const out: Task[] = [];
    for (let i = 0; i < arns.length; i += 100) {
      const page = await this.call('DescribeTasks', () =>
        this.ecs.send(
          new DescribeTasksCommand({
            cluster: this.config.cluster,
            tasks: arns.slice(i, i + 100),
            include: ['TAGS'],
          }),
        ),
      );
      out.push(...(page.tasks ?? []));
    }
    return out;
  }

  /** Never throws: a cluster that does not answer is one node reported unhealthy with the reason. */
  async nodes(): Promise<NodeItem[]> {
    try {
      const tasks = (await this.installationTasks()).filter(isLive);
      if (this.fargate) return [this.fargateNode(tasks)];
      const instances = await this.containerInstances();
      return instances.map((i) =>
        this.instanceNode(
          i,
          tasks.filter((t) => t.containerInstanceArn === i.containerInstanceArn),
        ),
      );
    } catch (err) {
      return [
        {
          name: this.fargate ? 'fargate' : this.config.cluster,
          driver: 'ecs',
          healthy: false,
          error: err instanceof DriverError ? err.userMessage : String(err),
          capacity: { cpu: null, memoryBytes: null, maxWorkspaces: null },
          host: null,
          used: { cpu: 0, memoryBytes: 0, workspaces: 0, running: 0 },
        },
      ];
    }
  }

  private fargateNode(tasks: Task[]): NodeItem {
    return {
      name: 'fargate',
      driver: 'ecs',
      healthy: true,
      capacity: { cpu: null, memoryBytes: null, maxWorkspaces: null },
      host: null,
      used: used(tasks),
    };
  }

  private instanceNode(i: ContainerInstance, tasks: Task[]): NodeItem {
    const resource = (list: ContainerInstance['registeredResources'], name: string) =>
      list?.find((r) => r.name === name)?.integerValue ?? 0;
    const cpu = resource(i.registeredResources, 'CPU') / 1024;
    const memoryBytes = resource(i.registeredResources, 'MEMORY') * MiB;
    const healthy = i.status === 'ACTIVE' || i.status === 'DRAINING' ? i.agentConnected === true : false;
    return {
      name: i.ec2InstanceId ?? i.containerInstanceArn?.split('/').pop() ?? 'unknown',
      driver: 'ecs',
      healthy,
      ...(healthy
        ? {}
        : {
            error:
              `ECS reports the container instance ${i.status ?? ''}${i.agentConnected ? '' : ' with its ECS agent disconnected'}.`.replace(
                '  ',
                ' ',
              ),
          }),
      cordoned: i.status === 'DRAINING',
      capacity: { cpu, memoryBytes, maxWorkspaces: null },
      host: { cpu, memoryBytes },
      used: used(tasks),
    };
  }

  private async containerInstances(): Promise<ContainerInstance[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('ListContainerInstances', () =>
        this.ecs.send(new ListContainerInstancesCommand({ cluster: this.config.cluster, nextToken })),
      );
      arns.push(...(page.containerInstanceArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const out: ContainerInstance[] = [];
    for (let i = 0; i < arns.length; i += 100) {
      const page = await this.call('DescribeContainerInstances', () =>
        this.ecs.send(
          new DescribeContainerInstancesCommand({
            cluster: this.config.cluster,
            containerInstances: arns.slice(i, i + 100),
          }),
        ),
      );
      out.push(...(page.containerInstances ?? []));
    }
    return out.sort((a, b) => (a.ec2InstanceId ?? '').localeCompare(b.ec2InstanceId ?? ''));
  }
}

/** What live tasks reserve: their task-level CPU units and memory. */
function used(tasks: Task[]): NodeItem['used'] {
  return {
    cpu: tasks.reduce((s, t) => s + Number(t.cpu ?? 0) / 1024, 0),
    memoryBytes: tasks.reduce((s, t) => s + Number(t.memory ?? 0) * MiB, 0),
    workspaces: tasks.length,
    running: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
  };
}
