import { DockerDriver, type DockerDriverConfig } from './docker/dockerDriver.js';
import { EcsDriver } from './ecs/ecsDriver.js';
import type { EcsDriverConfig } from './ecs/ecsDriverConfig.js';
import { KubernetesDriver, type KubernetesDriverConfig } from './kubernetes/kubernetesDriver.js';
import { LocalDriver, type LocalDriverConfig } from './local/localDriver.js';
import type { DriverFactory, DriverKind, RuntimeDriver } from './runtimeDriver.js';

/**
 * Each driver's typed config, built from the process config at startup. Drivers never read
 * process.env; they get their part of this. Grows a key per driver as drivers are built.
 */
export interface DriverContext {
  local: LocalDriverConfig;
  docker: DockerDriverConfig;
  kubernetes: KubernetesDriverConfig;
  /** Built only when the ecs driver is chosen: it refuses a config that lacks its keys. */
  ecs: () => EcsDriverConfig;
}

/** Every runtime driver by the name RC_RUNTIME uses. `satisfies` makes a missing kind a type error. */
export const drivers = {
  local: (ctx) => new LocalDriver(ctx.local),
  docker: (ctx) => new DockerDriver(ctx.docker),
  kubernetes: (ctx) => new KubernetesDriver(ctx.kubernetes),
  ecs: (ctx) => new EcsDriver(ctx.ecs()),
} satisfies Record<DriverKind, DriverFactory<DriverContext>>;

export function isDriverKind(kind: string): kind is DriverKind {
  return Object.hasOwn(drivers, kind);
}

/**
 * Builds the driver named by `kind` (RC_RUNTIME). Called once at startup.
 * @throws Error listing the valid kinds when `kind` is unknown.
 */
export function createDriver(kind: string, ctx: DriverContext): RuntimeDriver {
  if (!isDriverKind(kind)) {
    throw new Error(`Unknown runtime driver "${kind}"; valid drivers: ${Object.keys(drivers).join(', ')}.`);
  }
  return drivers[kind](ctx);
}
