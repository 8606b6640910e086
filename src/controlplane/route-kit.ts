/** What every route of the API is made of: the route table entry, the request it handles, path parameters. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ResourceName } from '../mesh/dataplane-api';
import type { Credential } from './credentials';
import { badRequest } from './http-util';

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
}

const SEGMENT = '([^/]+)';

export function route<Deps>(method: string, path: string, handle: Route<Deps>['handle']): Route<Deps> {
  return { method, pattern: new RegExp(`^${path.replace(/\+/g, '\\+').replace(/\{\w+\}/g, SEGMENT)}$`), handle };
}

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
