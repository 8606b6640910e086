/**
 * DataplaneInsights a previous run of our control plane left saying "connected": after a restart no
 * stream of that run is open any more, so a proxy that does not come back would look online forever
 * (and hold a rotation's gates as an online straggler, which no offline policy leaves out). At start,
 * every such insight of a proxy that has not re-registered gets the disconnect time of its last
 * subscription, as kuma-cp closes the subscriptions of control plane instances that are gone.
 */
import { type KubernetesConnection, KubernetesConflictError, isObjectNotFound, kubeCall, kubernetesError } from './connection';
import { DATAPLANE_INSIGHTS, type DataplaneInsightObject, DataplaneInsightObjectSchema, KUMA_GROUP, KUMA_VERSION } from './resources';

/** Marks the stale insights of `namespace` disconnected at `now`; returns how many. A proxy writing its own insight meanwhile wins. */
export async function closeStaleInsights(
  connection: KubernetesConnection,
  namespace: string,
  isLive: (mesh: string, name: string) => boolean,
  now: string,
): Promise<number> {
  const ref = { group: KUMA_GROUP, version: KUMA_VERSION, plural: DATAPLANE_INSIGHTS, namespace };
  const listed = (await kubeCall(connection, { verb: 'list', resource: `${DATAPLANE_INSIGHTS}.${KUMA_GROUP}`, namespace }, () =>
    connection.custom.listNamespacedCustomObject(ref),
  )) as { items?: unknown[] };
  let closed = 0;
  for (const raw of listed.items ?? []) {
    const parsed = DataplaneInsightObjectSchema.safeParse(raw);
    if (!parsed.success) continue;
    const insight = parsed.data;
    const subscriptions = insight.status?.subscriptions ?? [];
    const last = subscriptions.at(-1);
    if (!insight.mesh || !last || last.disconnectTime !== undefined || isLive(insight.mesh, insight.metadata.name)) continue;
    const body: DataplaneInsightObject = {
      ...insight,
      // The server keeps its own field ownership; only resourceVersion (the precondition) goes back.
      metadata: { ...insight.metadata, managedFields: undefined },
      status: { ...insight.status, subscriptions: [...subscriptions.slice(0, -1), { ...last, disconnectTime: now }] },
    };
    const name = insight.metadata.name;
    try {
      // Under the resourceVersion just listed: a newer write (the proxy is back) is never overwritten.
      await connection.custom.replaceNamespacedCustomObject({ ...ref, name, body });
      closed++;
    } catch (err) {
      if (isObjectNotFound(err)) continue;
      const failure = kubernetesError(err, { verb: 'update', resource: `${DATAPLANE_INSIGHTS}.${KUMA_GROUP}`, name, namespace }, connection);
      if (!(failure instanceof KubernetesConflictError)) throw failure;
    }
  }
  return closed;
}
