/** What a backend's static checks need to know beyond the backend itself. Pure. */
export interface BackendCheckContext {
  meshName: string;
  /** Names of the mesh's Secrets; undefined when unknown (references are then not checked). */
  knownSecrets: ReadonlySet<string> | undefined;
}
