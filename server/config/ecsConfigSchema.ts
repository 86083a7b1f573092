// `runtime.ecs`: the ecs driver's keys (server/drivers/ecs/). Kept in its own file so the main
// schema only mounts it. Presence of the keys the driver needs (cluster, subnets, …) is checked
// when runtime.driver is ecs (server/drivers/ecs/ecsDriverConfig.ts), so an installation on
// another driver is not made to fill them in.
import { z } from 'zod';

const Duration = z.union([
  z.number().int().min(1),
  z
    .string()
    .regex(/^\d+[sm]$/, { error: 'must be a number of seconds or a duration like "30s" or "5m"' })
    .transform((s) => Number(s.slice(0, -1)) * (s.endsWith('m') ? 60 : 1)),
]);

const Arn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/, {
  error: 'must be an ARN like "arn:aws:iam::123456789012:role/name"',
});

export const EcsRuntimeConfig = z
  .strictObject({
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region like "eu-west-1"' })
      .optional()
      .describe('AWS region of the cluster and the EFS file system. Required with runtime.driver ecs.'),
    endpoint: z
      .url()
      .optional()
      .describe(
        'Send ECS and EFS API calls to this URL instead of the regional endpoints (an emulator in tests). Unset: the SDK default for the region.',
      ),
    credentials: z
      .strictObject({
        accessKeyId: z.string().min(16).describe('Access key id of the IAM user or role session.'),
        secretAccessKey: z.string().min(16).describe('Its secret access key. Secret.'),
        sessionToken: z
          .string()
          .min(1)
          .optional()
          .describe('Session token of temporary credentials. Secret.'),
      })
      .optional()
      .describe(
        "Static AWS credentials. Unset (recommended): the AWS SDK's default chain — the ECS task role or EC2 instance profile the control plane runs under, web identity, ~/.aws.",
      ),
    cluster: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,255}$|^arn:aws[a-z-]*:ecs:.+$/, { error: 'must be a cluster name or ARN' })
      .optional()
      .describe('ECS cluster workspaces run in. Required with runtime.driver ecs.'),
    capacityProviders: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,255}$/, { error: 'must be a capacity provider name' })
            .describe('FARGATE, FARGATE_SPOT, or the name of an Auto Scaling group capacity provider.'),
          weight: z.int().min(0).max(1000).default(1).describe('Share of tasks placed with this provider.'),
          base: z.int().min(0).max(100_000).default(0).describe('Tasks placed with this provider first.'),
        }),
      )
      .default([])
      .describe(
        "RunTask's capacity provider strategy, e.g. [{name: FARGATE_SPOT, weight: 3}, {name: FARGATE, weight: 1}] or [{name: my-asg-provider}]. Fargate and EC2 providers cannot be mixed (ECS refuses it). Required with runtime.driver ecs.",
      ),
    subnets: z
      .array(
        z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: 'must be a subnet id like "subnet-0abc…"' }),
      )
      .default([])
      .describe('Subnets of the workspace tasks (awsvpc). Required with runtime.driver ecs.'),
    securityGroups: z
      .array(
        z.string().regex(/^sg-[0-9a-f]{8,17}$/, { error: 'must be a security group id like "sg-0abc…"' }),
      )
      .default([])
      .describe(
        "Security groups of the workspace tasks: allow egress only to the control plane's agent endpoint and to EFS (NFS, 2049) — see docs/ecs.md. Required with runtime.driver ecs.",
      ),
    assignPublicIp: z
      .boolean()
      .default(false)
      .describe(
        'Give each task a public IP (Fargate in public subnets without a NAT gateway needs it to pull the image).',
      ),
    image: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Workspace image, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/remote-claude/workspace:1.2 (deploy/images/workspace). Required with runtime.driver ecs.',
      ),
    taskRoleArn: Arn.optional().describe(
      'IAM role of the workspace tasks; it needs elasticfilesystem:ClientMount and ClientWrite on the file system (EFS IAM authorization) and nothing else. Required with runtime.driver ecs.',
    ),
    executionRoleArn: Arn.optional().describe(
      'Task execution role ECS pulls the image and writes logs with (AmazonECSTaskExecutionRolePolicy). Required on Fargate with an ECR image or logGroup.',
    ),
    efsFileSystemId: z
      .string()
      .regex(/^fs-[0-9a-f]{8,40}$/, { error: 'must be an EFS file system id like "fs-0abc…"' })
      .optional()
      .describe(
        "EFS file system holding the workspaces' files: two access points per workspace (/workspace and the home), created and deleted with it. Required with runtime.driver ecs.",
      ),
    s3Snapshots: z
      .strictObject({
        bucket: z.string().min(3).describe('Bucket for /workspace snapshots.'),
      })
      .optional()
      .describe(
        'S3 snapshots of /workspace on stop instead of EFS (seed 004). Not built yet: startup refuses it; use efsFileSystemId.',
      ),
    logGroup: z
      .string()
      .regex(/^[A-Za-z0-9_/.#-]{1,512}$/, { error: 'must be a CloudWatch Logs group name' })
      .optional()
      .describe(
        'CloudWatch Logs group for the agents\' logs (awslogs driver, stream prefix "workspace"). Unset: no logs kept.',
      ),
    installation: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, {
        error: 'must be 1 to 40 of a-z, 0-9 or "-", starting with a letter or digit',
      })
      .default('default')
      .describe(
        "Names and tags this installation's task definitions (rc-<installation>_<workspace>), tasks (startedBy rc-<installation>) and access points, so several installations can share a cluster.",
      ),
    callTimeout: Duration.default(30).describe('Deadline of one ECS or EFS API call.'),
    maxAttempts: z
      .int()
      .min(1)
      .max(20)
      .default(6)
      .describe(
        'Tries of one API call that AWS throttles or answers with a server error (the SDK backs off between them).',
      ),
    taskStartTimeout: Duration.default(300).describe(
      'How long a start waits for its task to reach RUNNING (Fargate provisioning, an Auto Scaling group adding an instance) before it fails.',
    ),
  })
  .prefault({})
  .describe('The ecs driver: one ECS task per running workspace, files on EFS (docs/ecs.md).');
