// How organisation and team roles read to people. Typed records, so a new role in sdk/wire.ts does
// not compile until it has a label here (the role lists there are zod values the UI cannot import).
import type { OrgRole, TeamRole } from '../../sdk/wire.js';

export const orgRoleLabels: Record<OrgRole, string> = {
  owner: 'Owner',
  admin: 'Admin',
  member: 'Member',
  viewer: 'Viewer',
};

export const teamRoleLabels: Record<TeamRole, string> = {
  maintainer: 'Maintainer',
  member: 'Member',
};

/** Options for a Select, most powerful first (the records' key order). */
export const orgRoleOptions = (Object.keys(orgRoleLabels) as OrgRole[]).map((value) => ({
  value,
  label: orgRoleLabels[value],
}));

export const teamRoleOptions = (Object.keys(teamRoleLabels) as TeamRole[]).map((value) => ({
  value,
  label: teamRoleLabels[value],
}));
