/** The data plane proxy agent and the traffic generator: the public surface of src/dataplane. */
export { startDataplaneHost, serverNameOf, type DataplaneHost, type DataplaneHostOptions } from './host';
export { runDataplanesCommand, statusLine, type DataplanesCommandOptions } from './main';
export { DataplaneProxy, type ProxyDescriptor, type ProxyStatus } from './proxy';
export type { ProxyKeyType } from './identity';
export type { TrafficOptions, TrafficStats } from './traffic';
