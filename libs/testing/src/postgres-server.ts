import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./redis-server.js";

export interface PostgresServerHandle {
  port: number;
  /** The server's `postgres` database as the superuser `postgres` (no password: trust on loopback). */
  url: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and removes its folder. */
  stop(): Promise<void>;
}

/** Where Debian's postgresql package puts initdb and postgres (highest version first), or PATH. */
function findBinaries(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(join(root, version, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length > 0) return join(root, versions[0], "bin");
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("cannot find initdb (install PostgreSQL: apt-get install -y postgresql)");
  }
}

/** initdb refuses to run as root: as root the server runs as the `postgres` user, in a folder it owns. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

function run(command: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...user, env: { ...process.env, LC_ALL: "C" } });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${output.slice(-800)}`))));
  });
}

/** Resolves once the server accepts a query, polling a connection; rejects if it exits or takes 30 s. */
async function waitUntilReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let exited = false;
  child.once("exit", () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`postgres exited before accepting connections: ${output().slice(-800)}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** Creates database `name` on the server at `serverUrl` (its `postgres` database) and returns the new database's URL. */
export async function createPostgresDatabase(serverUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name must be lower-case letters, digits and _: ${name}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A database name unique to this process and call, for one test file. */
export function uniqueDatabaseName(label: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9]+/g, "_").slice(0, 30);
  return `t_${clean}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
}

/**
 * Starts a private PostgreSQL (initdb into a temp folder, a server on a free loopback port, its socket
 * in that folder), as tests do for Redis: never the machine's own server. Durability is off (fsync),
 * which a throwaway server does not need.
 */
export async function startPostgresServer(options: { port?: number; extraArgs?: string[] } = {}): Promise<PostgresServerHandle> {
  const bin = findBinaries();
  const user = serverUser();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "llmgw-postgres-"));
  const data = join(dir, "data");
  if (user) chownSync(dir, user.uid, user.gid);
  let child: ChildProcess | undefined;
  try {
    await run(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"], user);
    const args = ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-F"];
    args.push("-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300", ...(options.extraArgs ?? []));
    const proc = spawn(join(bin, "postgres"), args, { stdio: ["ignore", "pipe", "pipe"], ...user, env: { ...process.env, LC_ALL: "C" } });
    child = proc;
    let output = "";
    proc.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    proc.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitUntilReady(url, proc, () => output);

    return {
      port,
      url,
      createDatabase: (name) => createPostgresDatabase(url, name),
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) {
          // SIGINT is PostgreSQL's fast shutdown: open connections are ended, not waited for.
          await new Promise<void>((resolve) => {
            proc.once("exit", () => resolve());
            proc.kill("SIGINT");
          });
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
