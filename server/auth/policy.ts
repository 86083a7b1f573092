// The one place that decides who may do what. Every route asks `can(actor, action, resource)`
// (through `ensureCan` in the HTTP layer); nothing else compares roles.
import type { OrgRole, TeamRole } from '../../sdk/wire.js';

export interface Actor {
  id: string;
  role: OrgRole;
}

export type Resource =
  | { kind: 'org' }
  /** An existing user, or (for user.create) the role the new user would get. */
  | { kind: 'user'; id?: string; role: OrgRole; newRole?: OrgRole | undefined }
  /** A team, with the actor's role in it when the actor is a member. */
  | { kind: 'team'; actorTeamRole?: TeamRole | undefined }
  | { kind: 'token'; ownerId: string }
  | { kind: 'workspace'; ownerId: string }
  | { kind: 'task'; ownerId: string };

export type Action =
  | 'user.list'
  | 'user.read'
  | 'user.create'
  | 'user.update'
  | 'user.changeRole'
  | 'user.disable'
  | 'team.list'
  | 'team.read'
  | 'team.create'
  | 'team.update'
  | 'team.delete'
  | 'team.manageMembers'
  | 'token.create'
  | 'token.read'
  | 'token.revoke'
  | 'secret.manage'
  | 'usage.readAll'
  | 'audit.read'
  | 'node.read'
  | 'node.manage'
  | 'replica.read'
  | 'queue.readAll'
  | 'quota.manage'
  | 'workspace.create'
  | 'workspace.read'
  | 'workspace.control'
  | 'workspace.files.write'
  | 'workspace.terminal'
  | 'task.create'
  | 'task.read'
  | 'task.control'
  | 'task.interact';

const RANK: Record<OrgRole, number> = { owner: 4, admin: 3, member: 2, viewer: 1 };

export function atLeast(role: OrgRole, min: OrgRole): boolean {
  return RANK[role] >= RANK[min];
}

/**
 * Whether `actor` may perform `action` on `resource`. Admins manage users and teams but only an
 * owner may touch an owner or make one; nobody changes their own role or disables themselves.
 */
export function can(actor: Actor, action: Action, resource: Resource): boolean {
  const admin = atLeast(actor.role, 'admin');
  switch (action) {
    case 'user.list':
    case 'audit.read':
    case 'node.read':
    case 'node.manage':
    case 'replica.read':
    case 'queue.readAll':
    case 'quota.manage':
    case 'team.create':
    case 'team.update':
    case 'team.delete':
      return admin;
    case 'team.list':
    case 'token.create':
      return true;
    // A personal Anthropic key pays for the caller's own tasks (the routes address only the
    // caller's), and viewers run none: a key of theirs could never be used, so like starting a task
    // it is for members and up.
    case 'secret.manage':
      return atLeast(actor.role, 'member');
    // Everyone sees their own model usage; admins see everyone's.
    case 'usage.readAll':
      return admin;
    case 'user.read':
      return resource.kind === 'user' && (resource.id === actor.id || admin);
    case 'user.create':
      return resource.kind === 'user' && admin && mayGrant(actor, resource.role);
    case 'user.update':
      if (resource.kind !== 'user') return false;
      return resource.id === actor.id || (admin && mayManage(actor, resource.role));
    case 'user.changeRole':
      if (resource.kind !== 'user' || resource.id === actor.id) return false;
      return admin && mayManage(actor, resource.role) && mayGrant(actor, resource.newRole ?? resource.role);
    case 'user.disable':
      if (resource.kind !== 'user' || resource.id === actor.id) return false;
      return admin && mayManage(actor, resource.role);
    case 'team.read':
      return resource.kind === 'team' && (admin || resource.actorTeamRole !== undefined);
    case 'team.manageMembers':
      // Viewers are read-only across the organisation, even as a team's maintainer.
      return (
        resource.kind === 'team' &&
        (admin || (resource.actorTeamRole === 'maintainer' && atLeast(actor.role, 'member')))
      );
    case 'token.read':
    case 'token.revoke':
      return resource.kind === 'token' && (resource.ownerId === actor.id || admin);
    case 'workspace.create':
    case 'task.create':
      return atLeast(actor.role, 'member');
    case 'task.read':
      return resource.kind === 'task' && (resource.ownerId === actor.id || admin);
    case 'task.control':
      return (
        resource.kind === 'task' &&
        ((resource.ownerId === actor.id && atLeast(actor.role, 'member')) || admin)
      );
    // Talking to Claude and approving its tool calls act as the task's owner: only they may.
    case 'task.interact':
      return resource.kind === 'task' && resource.ownerId === actor.id && atLeast(actor.role, 'member');
    case 'workspace.read':
      return resource.kind === 'workspace' && (resource.ownerId === actor.id || admin);
    case 'workspace.control':
      return (
        resource.kind === 'workspace' &&
        ((resource.ownerId === actor.id && atLeast(actor.role, 'member')) || admin)
      );
    // A shell or a file write inside someone's workspace acts as them: only the owner may.
    case 'workspace.files.write':
    case 'workspace.terminal':
      return resource.kind === 'workspace' && resource.ownerId === actor.id && atLeast(actor.role, 'member');
    default: {
      const unreachable: never = action;
      throw new Error(`unknown action ${String(unreachable)}`);
    }
  }
}

/** Only an owner may act on an owner. */
function mayManage(actor: Actor, targetRole: OrgRole): boolean {
  return targetRole !== 'owner' || actor.role === 'owner';
}

/** Only an owner may hand out the owner role. */
function mayGrant(actor: Actor, role: OrgRole): boolean {
  return role !== 'owner' || actor.role === 'owner';
}
