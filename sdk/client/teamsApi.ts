// Teams and their members (server/http/routes/teamRoutes.ts).
import type { z } from 'zod';
import type { CreateTeamBody, TeamRole, UpdateTeamBody } from '../wire.js';
import { seg, type Transport } from './transport.js';

export class TeamsApi {
  constructor(private readonly t: Transport) {}

  list() {
    return this.t.call('GET', '/api/v1/teams', 'TeamList');
  }

  create(body: CreateTeamBody) {
    return this.t.call('POST', '/api/v1/teams', 'Team', body);
  }

  update(id: string, body: z.input<typeof UpdateTeamBody>) {
    return this.t.call('PATCH', `/api/v1/teams/${seg(id)}`, 'Team', body);
  }

  delete(id: string) {
    return this.t.callVoid('DELETE', `/api/v1/teams/${seg(id)}`);
  }

  /** Adds a member, or changes the role of one; answers with the team. */
  setMember(id: string, userId: string, role: TeamRole) {
    return this.t.call('PUT', `/api/v1/teams/${seg(id)}/members/${seg(userId)}`, 'Team', { role });
  }

  removeMember(id: string, userId: string) {
    return this.t.callVoid('DELETE', `/api/v1/teams/${seg(id)}/members/${seg(userId)}`);
  }
}
