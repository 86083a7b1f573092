// Stopped-task reasons and RunTask failures as ECS reports them, in the sentences users see.
import type { Task } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { DriverError } from '../runtimeDriver.js';
import { apiError, PLATFORM_STOP_REASON, runTaskFailure, stopReason, taskState } from './taskState.js';

const stoppedTask = (fields: Partial<Task>, container: Record<string, unknown> = {}): Task => ({
  lastStatus: 'STOPPED',
  desiredStatus: 'STOPPED',
  containers: [{ name: 'workspace', lastStatus: 'STOPPED', ...container }],
  ...fields,
});

describe('taskState and stopReason', () => {
  it('a live task is running, whatever its stage', () => {
    for (const lastStatus of ['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING'])
      expect(taskState({ lastStatus })).toEqual({ status: 'running' });
    expect(taskState({ lastStatus: 'DEPROVISIONING' }).status).toBe('stopped');
  });

  it('names who stopped it and why', () => {
    expect(
      stopReason(
        stoppedTask({ stopCode: 'UserInitiated', stoppedReason: PLATFORM_STOP_REASON }, { exitCode: 143 }),
      ),
    ).toBeUndefined();
    expect(
      stopReason(
        stoppedTask({ stopCode: 'UserInitiated', stoppedReason: 'Task stopped by user' }, { exitCode: 143 }),
      ),
    ).toBe('stopped outside the platform (ECS StopTask: Task stopped by user)');
    expect(
      stopReason(
        stoppedTask({ stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.' }),
      ),
    ).toBe('stopped: AWS reclaimed the Spot capacity the workspace ran on; start it again.');
    expect(
      stopReason(
        stoppedTask({
          stopCode: 'TaskFailedToStart',
          stoppedReason:
            'ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: mount.nfs4: access denied',
        }),
      ),
    ).toBe(
      'failed to start: ECS could not prepare the task (ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: mount.nfs4: access denied).',
    );
    expect(
      stopReason(
        stoppedTask({
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Host EC2 (instance i-0abc) terminated.',
        }),
      ),
    ).toBe(
      'stopped: the EC2 instance the workspace ran on went away (Host EC2 (instance i-0abc) terminated.).',
    );
    expect(taskState(stoppedTask({ stopCode: 'EssentialContainerExited' }, { exitCode: 0 }))).toEqual({
      status: 'stopped',
      exitCode: 0,
    });
    expect(taskState(stoppedTask({ stopCode: 'EssentialContainerExited' }, { exitCode: 139 }))).toMatchObject(
      {
        exitCode: 139,
        reason: 'killed by signal 11',
      },
    );
  });
});

describe('runTaskFailure and apiError', () => {
  it('room is insufficient_resources, other refusals fail the start', () => {
    expect(runTaskFailure([{ reason: 'RESOURCE:ENI' }], 'c')).toMatchObject({
      reason: 'insufficient_resources',
      userMessage:
        'No container instance in ECS cluster c has enough network interfaces (awsvpc ENIs) free for this workspace right now (RESOURCE:ENI); it starts once there is room.',
    });
    expect(
      runTaskFailure([{ reason: 'ATTRIBUTE', detail: 'requires attribute ecs.capability.efsAuth' }], 'c'),
    ).toMatchObject({
      reason: 'start_failed',
      userMessage:
        "ECS refused to run the workspace's task: ATTRIBUTE (requires attribute ecs.capability.efsAuth).",
    });
  });

  it('maps API errors by name, naming the call and never echoing credentials', () => {
    const denied = Object.assign(
      new Error('User: arn:aws:sts::1:assumed-role/x is not authorized to perform: ecs:RunTask'),
      {
        name: 'AccessDeniedException',
      },
    );
    const err = apiError(denied, 'ECS RunTask');
    expect(err).toBeInstanceOf(DriverError);
    expect(err.reason).toBe('unavailable');
    expect(err.userMessage).toMatch(
      /^AWS refused the control plane's ECS RunTask call: .*control-plane-policy\.json/,
    );
    expect(
      apiError(Object.assign(new Error('bad'), { name: 'InvalidParameterException' }), 'ECS RunTask').reason,
    ).toBe('invalid_spec');
  });
});
