import {
  Body,
  Controller,
  Delete,
  Get,
  Inject,
  NotFoundException,
  Optional,
  Param,
  Put,
  Req,
  UnauthorizedException,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { ApiKeyExceptionFilter } from '../../http/api-key.exception-filter.js';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import { Public, Scopes } from '../../http/decorators/scopes.decorator.js';
import { API_KEY_REQUEST_PROPERTY, type ApiKeyPrincipal } from '../../verification/api-key.principal.js';
import {
  ApiKeyOwnerPolicies,
  mayEditPolicies,
  type OwnerPolicy,
  type OwnerPolicyChange,
  type OwnerPolicyRecord,
} from '../owner-policies/index.js';
import { actingOptions } from './admin-acting.js';
import { ResolvedAdminOptions, type AdminIdentity } from './admin.options.js';

/**
 * `GET <path>/api/owner-policies`: the policies the operator may read, and whether they may edit them; or
 * `{ enabled: false }` when the host does not use the owner-policies feature (the page then shows no policies).
 */
export type AdminOwnerPolicies =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly editable: boolean; readonly policies: OwnerPolicyRecord[] };

/**
 * Builds the console's owner-policy routes under `<path>/api/owner-policies`, guarded as the rest of the API.
 * `ApiKeyOwnerPolicies` is injected optionally: without the feature, the listing says so and changes are 404.
 * With an admin key, the service holds every call to it (an admin key bound to an owner may read its owner's
 * policy and the default one, and edit none: 403).
 */
export function createAdminPoliciesController(options: ResolvedAdminOptions): Type {
  const access = options.guard ? [Public(), UseGuards(options.guard)] : [UseGuards(ApiKeyGuard), Scopes(options.scope)];

  @Controller(`${options.apiPath}/owner-policies`)
  @UseFilters(ApiKeyExceptionFilter)
  class ApiKeyAdminPoliciesController {
    constructor(
      @Inject(API_KEY_OPTIONS) private readonly keyOptions: ResolvedApiKeyOptions,
      @Optional() private readonly policies?: ApiKeyOwnerPolicies,
    ) {}

    /** The operator behind a request: the verified admin key, or the host's `identify`. */
    private adminOf(request: Record<string, unknown>): AdminIdentity {
      if (options.identify) return options.identify(request);
      const principal = request[API_KEY_REQUEST_PROPERTY] as ApiKeyPrincipal | undefined;
      if (!principal) throw new UnauthorizedException();
      return { id: principal.id, scopes: principal.scopes, principal };
    }

    private service(): ApiKeyOwnerPolicies {
      if (!this.policies) throw new NotFoundException('owner policies are not enabled on this app');
      return this.policies;
    }

    /** The policies the operator may read, the default (`*`) among them. */
    @Get()
    async list(@Req() request: Record<string, unknown>): Promise<AdminOwnerPolicies> {
      if (!this.policies) return { enabled: false };
      const acting = actingOptions(this.adminOf(request));
      const editable = !acting.actingAs || mayEditPolicies(acting.actingAs, this.keyOptions);
      return { enabled: true, editable, policies: await this.policies.list(acting) };
    }

    /** Sets an owner's policy (`*`: the default); answers which keys it disabled and enabled again. */
    @Put(':ownerId')
    set(
      @Req() request: Record<string, unknown>,
      @Param('ownerId') ownerId: string,
      @Body() body: unknown,
    ): Promise<OwnerPolicyChange> {
      return this.service().set(ownerId, body as OwnerPolicy, actingOptions(this.adminOf(request)));
    }

    /** Removes an owner's policy: its keys fall back to the default one. */
    @Delete(':ownerId')
    remove(@Req() request: Record<string, unknown>, @Param('ownerId') ownerId: string): Promise<OwnerPolicyChange> {
      return this.service().remove(ownerId, actingOptions(this.adminOf(request)));
    }
  }
  for (const decorate of access) (decorate as ClassDecorator)(ApiKeyAdminPoliciesController);
  return ApiKeyAdminPoliciesController;
}
