export default async function globalTeardown(): Promise<void> {
  const stoppers = (globalThis as { __servers?: (() => Promise<void>)[] }).__servers ?? [];
  await Promise.all(stoppers.map((stop) => stop()));
}
