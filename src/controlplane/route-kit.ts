/** What every route of the API is made of: the route table entry, the request it handles, path parameters. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ResourceName } from '../mesh/dataplane-api';
import type { Credential } from './credentials';
import { ApiError, badRequest } from './http-util';

export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  /** Who is calling (undefined on public routes); access.ts has already checked the role. */
  credential: Credential | undefined;
}

export interface Route<Deps> {
  method: string;
  pattern: RegExp;
  handle(deps: Deps, request: Request): Promise<void> | void;
  /** Changes a Mesh or a Secret: refused where those live elsewhere (Kubernetes mode). */
  writesResource?: boolean;
}

const SEGMENT = '([^/]+)';

export function route<Deps>(method: string, path: string, handle: Route<Deps>['handle']): Route<Deps> {
  return { method, pattern: new RegExp(`^${path.replace(/\+/g, '\\+').replace(/\{\w+\}/g, SEGMENT)}$`), handle };
}

/** A route that changes a Mesh or a Secret (see `Route.writesResource`). */
export function resourceWrite<Deps>(method: string, path: string, handle: Route<Deps>['handle']): Route<Deps> {
  return { ...route(method, path, handle), writesResource: true };
}

/** kuma-cp's words on Kubernetes (pkg/api-server/resource_endpoints.go), so kumactl users read what they know. */
export const KUBERNETES_READ_ONLY_DETAIL =
  "On Kubernetes you cannot change the state of Kuma resources with 'kumactl apply' or via the HTTP API." +
  " As a best practice, you should always be using 'kubectl apply' instead." +
  " You can still use 'kumactl' or the HTTP API to make read-only operations. On Universal this limitation does not apply.\n";

/** kuma-cp's answer to a resource write on Kubernetes: 405 with its title and detail. */
export const kubernetesReadOnly = (): ApiError => new ApiError(405, 'Method not allowed', KUBERNETES_READ_ONLY_DETAIL);

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function resourceName(value: string | undefined, field: string): string {
  const result = ResourceName.safeParse(value);
  if (!result.success) throw badRequest(`invalid ${field} in the path`, [{ field, message: result.error.issues[0]?.message ?? 'invalid' }]);
  return result.data;
}

export const meshName = (value: string | undefined): string => resourceName(value, 'mesh');
