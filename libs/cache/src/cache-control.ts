/** The two request directives the gateway honours. */
export interface CacheDirectives {
  /** Skip the lookup (the answer is still stored unless `noStore`). */
  noCache: boolean;
  /** Do not store the answer. */
  noStore: boolean;
}

/** Reads `no-cache` / `no-store` from a `Cache-Control` request header (repeated headers included). */
export function parseCacheControl(header: string | string[] | undefined): CacheDirectives {
  const directives = new Set(
    [header ?? []]
      .flat()
      .flatMap((value) => value.split(","))
      .map((directive) => directive.split("=")[0].trim().toLowerCase()),
  );
  return { noCache: directives.has("no-cache"), noStore: directives.has("no-store") };
}
