/**
 * A thin wrapper over node-vault: TLS and namespace options from the settings, and errors rebuilt
 * from the status code and Vault's own error text only. The raw errors carry the request
 * configuration, headers (the token) included, so they never leave this module. Vault unreachable,
 * 5xx and 429 become CaUnavailableError (transient); other answers CaConfigError (see errors.ts).
 */
import nodeVault from 'node-vault';
import { CaConfigError, CaUnavailableError } from './errors';
import type { VaultSettings } from './vault-settings';

export const VAULT_REQUEST_TIMEOUT_MS = 10_000;

type Json = Record<string, unknown>;

export class VaultClient {
  private readonly client: nodeVault.client;
  private loggedIn: boolean;

  constructor(private readonly settings: VaultSettings) {
    const requestOptions: nodeVault.VaultOptions['requestOptions'] = { timeout: VAULT_REQUEST_TIMEOUT_MS };
    if (settings.tls.caCertPem) requestOptions.ca = settings.tls.caCertPem;
    if (settings.tls.skipVerify) requestOptions.strictSSL = false;
    if (settings.tls.serverName) requestOptions.agentOptions = { servername: settings.tls.serverName };
    if (settings.auth.clientCertPem && settings.auth.clientKeyPem) {
      requestOptions.cert = settings.auth.clientCertPem;
      requestOptions.key = settings.auth.clientKeyPem;
    }
    this.client = nodeVault({
      apiVersion: 'v1',
      endpoint: settings.address,
      // An empty string (not undefined) so node-vault does not pick up VAULT_TOKEN / VAULT_NAMESPACE itself.
      token: settings.auth.token ?? '',
      namespace: settings.namespace ?? '',
      requestOptions,
    });
    if (!settings.auth.token) this.client.token = '';
    this.loggedIn = settings.auth.token !== undefined || settings.viaAgent;
  }

  /** TLS certificate auth: trade the client certificate for a token (once). */
  private async login(): Promise<void> {
    if (this.loggedIn) return;
    await this.call('log in with the client certificate', () => this.client.certLogin({}));
    this.loggedIn = true;
  }

  async read(path: string, what: string): Promise<unknown> {
    await this.login();
    return this.call(what, () => this.client.read(path));
  }

  async write(path: string, data: Json, what: string): Promise<Json> {
    await this.login();
    return (await this.call(what, () => this.client.write(path, data))) as Json;
  }

  async lookupSelf(): Promise<Json> {
    await this.login();
    return (await this.call('look up the token', () => this.client.tokenLookupSelf())) as Json;
  }

  private async call(what: string, request: () => Promise<unknown>): Promise<unknown> {
    try {
      return await request();
    } catch (error) {
      throw this.safeError(what, error);
    }
  }

  private safeError(what: string, error: unknown): CaConfigError | CaUnavailableError {
    const token = this.settings.auth.token;
    const scrub = (text: string): string => (token ? text.split(token).join('[redacted]') : text);
    const response = (error as { response?: { statusCode?: unknown; body?: unknown } }).response;
    if (response && typeof response.statusCode === 'number') {
      const body = response.body as { errors?: unknown } | undefined;
      const errors = Array.isArray(body?.errors) ? body.errors.filter((e): e is string => typeof e === 'string').map((e) => scrub(redactLine(e))) : [];
      const status = response.statusCode;
      const message = `Vault refused to ${what} (HTTP ${status})${errors.length ? `: ${errors.join('; ')}` : ''}`;
      const details = { status, upstreamErrors: errors };
      return status >= 500 || status === 429 ? new CaUnavailableError(message, details) : new CaConfigError(message, details);
    }
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : 'no answer';
    return new CaUnavailableError(`Vault is unreachable at ${this.settings.address} (${reason}): could not ${what}`);
  }
}

/** Vault's messages do not carry tokens, but keep them one line and bounded. */
function redactLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
