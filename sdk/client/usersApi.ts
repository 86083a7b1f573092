// Users (server/http/routes/userRoutes.ts): admins list and create them; anyone edits themself.
import type { CreateUserBody, UpdateUserBody } from '../wire.js';
import { seg, type Transport } from './transport.js';

export class UsersApi {
  constructor(private readonly t: Transport) {}

  list() {
    return this.t.call('GET', '/api/v1/users', 'UserList');
  }

  create(body: CreateUserBody) {
    return this.t.call('POST', '/api/v1/users', 'User', body);
  }

  /** Changes a user; a new password of your own also needs `currentPassword`. */
  update(id: string, body: UpdateUserBody) {
    return this.t.call('PATCH', `/api/v1/users/${seg(id)}`, 'User', body);
  }
}
