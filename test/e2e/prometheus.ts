/** Reading Prometheus endpoints in tests: scrape, and pick one series' value out of the text format. */
import { Agent } from 'undici';

/** The value of one series in Prometheus' text format (labels: a subset to match), or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** fetch that trusts `caPem` for https (our control plane's own API CA); plain fetch without it. */
export function fetchTrusting(caPem: string | undefined): typeof fetch {
  if (!caPem) return fetch;
  const dispatcher = new Agent({ connect: { ca: caPem } });
  return (input, init) => fetch(input, { ...init, dispatcher } as RequestInit);
}

export async function scrape(url: string, token?: string, caPem?: string): Promise<string> {
  const response = await fetchTrusting(caPem)(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  return response.text();
}

/** Scrapes until `predicate` holds for the page (the worker samples rotation status every few seconds). */
export async function scrapeUntil(url: string, predicate: (text: string) => boolean, what: string, token?: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await scrape(url, token).catch((err: unknown) => String(err));
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} never showed ${what}; last page:\n${last.split('\n').filter((l) => l.startsWith('ca_')).join('\n')}`);
}
