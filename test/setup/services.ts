import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Starts the private dockerd and registries once for the whole run (idempotent), unless
 * FLOWPACK_TEST_SERVICES=off (unit tests only). Integration tests skip nothing: without the
 * services they fail, loudly.
 */
export default function setup(): void {
  if (process.env.FLOWPACK_TEST_SERVICES === "off") return;
  const script = fileURLToPath(new URL("../../scripts/services.sh", import.meta.url));
  execFileSync("bash", [script, "start"], { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 });
}
