import { ForbiddenException } from '@nestjs/common';
import { matchScopes } from '../../policies/scope-matcher.js';
import type { AdminIdentity } from './admin.options.js';

/** What a console action hands the service about who acts. */
export interface AdminActingOptions {
  readonly actor: string;
}

/** What the action grants, to be held by the acting admin. */
export interface AdminGrant {
  /** The scopes the key will hold after the action (issue, new scopes, a rotation's successor). */
  readonly scopes?: readonly string[];
}

/**
 * The one place every console call that changes a key gets its acting
 * options from: the audit actor `admin:<id>`, after checking that the admin
 * holds every scope the action grants (a `*` or `orders:*` grant covers what
 * it names). Nobody grants what they do not hold.
 * @throws ForbiddenException (403) naming the scopes the admin lacks
 */
export function actingOptions(admin: AdminIdentity, grant: AdminGrant = {}): AdminActingOptions {
  const lacking = (grant.scopes ?? []).filter((scope) => !matchScopes({ allOf: [scope], anyOf: [] }, admin.scopes));
  if (lacking.length > 0) {
    throw new ForbiddenException(`you cannot grant scopes you do not hold: ${lacking.join(', ')}`);
  }
  return { actor: `admin:${admin.id}` };
}
