/**
 * Runs a docker credential helper: `docker-credential-<name> get`, server address on stdin, JSON
 * `{"Username","Secret"}` on stdout. "credentials not found" is not an error (anonymous). The
 * helper's stdout may hold a secret, so it never appears in a message.
 */
import { spawn } from "node:child_process";
import { CredentialHelperError } from "./errors.js";
import { redactText } from "./redact.js";
import { helperOutputSchema } from "./schemas.js";

export interface HelperCredentials {
  username: string;
  secret: string;
}

export interface RunHelperOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Where the helper is configured, for messages: e.g. `credHelpers in /home/me/.docker/config.json`. */
  configuredIn?: string;
}

const MAX_OUTPUT = 1 << 20;

export function helperProgram(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new CredentialHelperError(`invalid docker credential helper name "${name}"`, {
      helper: `docker-credential-${name}`,
      hint: "credHelpers / credsStore entries name a program docker-credential-<name> on PATH",
    });
  }
  return `docker-credential-${name}`;
}

export function runCredentialHelper(
  name: string,
  serverAddress: string,
  options: RunHelperOptions = {},
): Promise<HelperCredentials | undefined> {
  const program = helperProgram(name);
  const where = options.configuredIn ? ` (configured in ${options.configuredIn})` : "";
  const timeoutMs = options.timeoutMs ?? 30_000;

  return new Promise((resolve, reject) => {
    const child = spawn(program, ["get"], {
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      windowsHide: true,
    });
    let stdout = "";
    let stderr = "";
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(() =>
        reject(
          new CredentialHelperError(`${program} get did not answer within ${Math.round(timeoutMs / 1000)}s${where}`, {
            helper: program,
            hint: "the helper may be waiting for a keychain unlock or a GUI prompt",
          }),
        ),
      );
    }, timeoutMs);

    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk;
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      finish(() =>
        reject(
          error.code === "ENOENT"
            ? new CredentialHelperError(`docker credential helper ${program} was not found on PATH${where}`, {
                helper: program,
                hint: `install ${program}, or remove the entry from the docker config`,
              })
            : new CredentialHelperError(`cannot run ${program}: ${error.message}`, { helper: program }),
        ),
      );
    });
    child.on("close", (exitCode) => {
      finish(() => {
        const text = `${stdout}\n${stderr}`;
        if (exitCode !== 0) {
          if (/credentials not found/i.test(text)) {
            resolve(undefined);
            return;
          }
          const detail = redactText(firstLine(stderr) || "no error output").slice(0, 200);
          reject(
            new CredentialHelperError(`${program} get failed with exit code ${exitCode}${where}: ${detail}`, {
              helper: program,
            }),
          );
          return;
        }
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        const parsed = helperOutputSchema.safeParse(json);
        if (!parsed.success) {
          reject(
            new CredentialHelperError(`${program} get printed something that is not {"Username","Secret"} JSON${where}`, {
              helper: program,
            }),
          );
          return;
        }
        if (!parsed.data.Secret) {
          resolve(undefined);
          return;
        }
        resolve({ username: parsed.data.Username, secret: parsed.data.Secret });
      });
    });
    child.stdin.on("error", () => {
      // The helper may exit before reading stdin; its exit status tells the story.
    });
    child.stdin.end(serverAddress);
  });
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find(Boolean) ?? ""
  );
}
