import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HEAP_BOUND, withHeapBound } from "../../scripts/stack.mjs";

// No Docker engine runs here: the files are checked by reading them.
const compose = parse(readFileSync("docker-compose.yml", "utf8"));
const dockerfile = readFileSync("Dockerfile", "utf8");
const command = (service: string) => (compose.services[service].command as string[]).join(" ");

/** The services `docker compose --profile …profiles config` keeps: those without profiles, and those of the profiles named. */
const servicesWith = (profiles: string[]) =>
  Object.entries(compose.services as Record<string, { profiles?: string[] }>)
    .filter(([, service]) => !service.profiles || service.profiles.some((profile) => profiles.includes(profile)))
    .map(([name]) => name)
    .sort();

/** What `docker compose config` refuses: a dependency on a service that is not there (unless optional), an undeclared volume. */
function configProblems(profiles: string[]): string[] {
  const kept = servicesWith(profiles);
  const problems: string[] = [];
  for (const name of kept) {
    const service = compose.services[name];
    for (const [dependency, condition] of Object.entries((service.depends_on ?? {}) as Record<string, { required?: boolean }>)) {
      if (!kept.includes(dependency) && condition.required !== false) problems.push(`${name} needs ${dependency}`);
    }
    for (const volume of (service.volumes ?? []) as string[]) {
      const source = volume.split(":")[0];
      if (!source.startsWith(".") && !source.startsWith("/") && !(source in compose.volumes)) problems.push(`${name}: volume ${source} is not declared`);
    }
  }
  return problems;
}

describe("docker-compose.yml", () => {
  it("runs redis, a cache redis, the api and a scalable worker", () => {
    expect(servicesWith([])).toEqual(["api", "cache-redis", "redis", "worker"]);
    expect(configProblems([])).toEqual([]);
  });

  it("adds PostgreSQL with `--profile postgres`, on a volume, with a healthcheck the api waits for", () => {
    expect(servicesWith(["postgres"])).toEqual(["api", "cache-redis", "postgres", "redis", "worker"]);
    expect(configProblems(["postgres"])).toEqual([]);
    const postgres = compose.services.postgres;
    expect(postgres.profiles).toEqual(["postgres"]);
    expect(postgres.image).toMatch(/^postgres:\d+/);
    expect(postgres.volumes).toContain("postgres-data:/var/lib/postgresql/data");
    expect(postgres.healthcheck.test).toContain("pg_isready");
    expect(postgres.environment).toMatchObject({ POSTGRES_USER: "gateway", POSTGRES_DB: "gateway" });
    // Without the profile the api starts as before; with it, after PostgreSQL is ready.
    expect(compose.services.api.depends_on.postgres).toEqual({ condition: "service_healthy", required: false });
    // No host port: the database is reached inside the compose network (or published on purpose).
    expect(postgres.ports).toBeUndefined();
  });

  it("keeps the queue redis persistent (AOF) and never evicting, with a healthcheck", () => {
    expect(command("redis")).toContain("--appendonly yes");
    expect(command("redis")).toContain("--maxmemory-policy noeviction");
    expect(compose.services.redis.healthcheck.test).toEqual(["CMD", "redis-cli", "ping"]);
    expect(compose.services.redis.volumes).toContain("redis-data:/data");
  });

  it("bounds the cache redis with LRU eviction", () => {
    expect(command("cache-redis")).toContain("--maxmemory-policy allkeys-lru");
    expect(command("cache-redis")).toMatch(/--maxmemory \d+mb/);
  });

  it("points the api at both redises, keeps its SQLite file on a volume and checks /readyz", () => {
    const api = compose.services.api;
    expect(api.environment).toMatchObject({
      REDIS_URL: "redis://redis:6379",
      CACHE_REDIS_URL: "redis://cache-redis:6379",
      DATABASE_PATH: "/data/api_keys.db",
    });
    expect(api.volumes).toContain("api-data:/data");
    expect(api.healthcheck.test.join(" ")).toContain("/readyz");
    expect(api.depends_on.redis.condition).toBe("service_healthy");
  });

  it("lets the worker scale: no container name, no host port", () => {
    const worker = compose.services.worker;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(command("worker")).toBe("node apps/worker/dist/main.js");
    expect(worker.environment.REDIS_URL).toBe("redis://redis:6379");
  });

  it("lets the worker's /metrics be scraped inside the network (it binds to loopback by default) without publishing it", () => {
    const worker = compose.services.worker;
    expect(worker.environment.WORKER_METRICS_HOST).toBe("0.0.0.0");
    expect(worker.ports).toBeUndefined();
  });
});

describe("Dockerfile", () => {
  it("builds in stages on Node 22 slim and runs as a non-root user with production dependencies", () => {
    expect(dockerfile.match(/^FROM node:22[\w.-]*slim/gm)?.length).toBe(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "apps\/api\/dist\/main.js"\]$/m);
  });

  it("bounds the heap as `npm start` does, and lets NODE_OPTIONS change it", () => {
    expect(dockerfile).toMatch(new RegExp(`^ENV NODE_OPTIONS=${HEAP_BOUND}$`, "m"));
    expect(withHeapBound({ NODE_OPTIONS: "--enable-source-maps" }).NODE_OPTIONS).toBe(`--enable-source-maps ${HEAP_BOUND}`);
    expect(withHeapBound({ NODE_OPTIONS: "--max-old-space-size=2048" }).NODE_OPTIONS).toBe("--max-old-space-size=2048");
  });
});
