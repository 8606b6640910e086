/** The pure mesh domain, one import for the rest of the project. */
export * from './schema';
export * from './insights';
export * from './gates';
export * from './plan';
export * from './duration';
export * from './base64';
export * from './yaml';
export * from './documents';
export * from './validate';
export * from './validate-issues';
export * from './backends';
