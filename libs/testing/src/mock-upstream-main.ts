import { startMockUpstream } from "./mock-upstream.js";

/** Runs the mock upstream alone (demo, benchmarks): MOCK_PORT (8787), MOCK_HOST (127.0.0.1). */
async function main() {
  const port = Number(process.env.MOCK_PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`MOCK_PORT must be a port number, got "${process.env.MOCK_PORT}"`);
  const mock = await startMockUpstream({ port, host: process.env.MOCK_HOST ?? "127.0.0.1", recordCalls: false });
  console.log(`mock upstream listening on ${mock.url}`);
  const stop = () => {
    void mock.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(`mock upstream failed to start: ${(error as Error).message}`);
  process.exit(1);
});
