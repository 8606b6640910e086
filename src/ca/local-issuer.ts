/** The Issuer of backends whose CA key is in this process (builtin, provided). */
import type { KeyObject } from 'node:crypto';
import { CertificateInfo } from '../pki/certificate';
import { CsrError } from '../pki/csr';
import { identityUris } from '../pki/identity';
import { LeafIssuer, LeafIssuerOptions } from '../pki/leaf-issuer';
import { toPem } from '../pki/pem';
import { CaRequestError } from './errors';
import { IdentityRequest, IssuedIdentity, Issuer } from './types';

export class LocalCaIssuer implements Issuer {
  private readonly leaves: LeafIssuer;

  constructor(
    private readonly mesh: string,
    ca: CertificateInfo,
    caKey: KeyObject,
    /** Certificates between the leaf and the trusted root, closest first. */
    private readonly chainPem: string[],
    private readonly validityMs: number,
    options: LeafIssuerOptions = {},
  ) {
    this.leaves = new LeafIssuer(ca, caKey, options);
  }

  async issue(request: IdentityRequest): Promise<IssuedIdentity> {
    try {
      const leaf = await this.leaves.issue({ csrDer: request.csrDer, uris: identityUris(this.mesh, request.service, request.tags), validityMs: this.validityMs });
      return { certificatePem: toPem('CERTIFICATE', leaf.der), chainPem: this.chainPem, issuerFingerprint: this.leaves.ca.fingerprint, expiresAt: leaf.notAfter.toISOString() };
    } catch (error) {
      if (error instanceof CsrError) throw new CaRequestError(`cannot issue for service "${request.service}": ${error.message}`);
      throw error;
    }
  }

  close(): Promise<void> {
    return this.leaves.close();
  }
}
