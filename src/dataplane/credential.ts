/**
 * A data plane host reads its own credential's binding (without verifying it: the control plane
 * does that) to learn the host id it must connect as. Token: `cart1.<base64url JSON claims>.<mac>`.
 */
import { z } from 'zod';
import { type DataplaneBinding, DataplaneBindingSchema } from '../mesh/dataplane-api';

const ClaimsSchema = z.looseObject({ dataplane: DataplaneBindingSchema.optional() });

export function dataplaneBindingOf(token: string): DataplaneBinding | undefined {
  const [prefix, payload] = token.split('.');
  if (prefix !== 'cart1' || !payload) return undefined;
  try {
    return ClaimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))).dataplane;
  } catch {
    return undefined;
  }
}
