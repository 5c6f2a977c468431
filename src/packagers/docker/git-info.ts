import { execFile } from "node:child_process";
import { lstatSync, readFileSync, realpathSync, type Stats } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { redactUrl } from "../../registry/redact.js";

/** The project's git remote (credentials redacted) and commit, for an image's labels. */
export interface GitInfo {
  source?: string;
  revision?: string;
}

/**
 * The git remote `origin` (credentials redacted) and the commit of the repository holding `dir`;
 * neither outside a repository. What `git remote get-url origin` and `git rev-parse HEAD` say: read
 * from the repository's own files where they are plain (readGitFiles), else asked of git. Spawning
 * git twice cost ~25 ms of the main thread on every `package` here (a fork copies the page tables
 * of a process that has loaded the bundler and the flow reader), while esbuild waited on it.
 */
export async function gitInfo(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<GitInfo> {
  return readGitFiles(dir, env) ?? (await askGit(dir, env));
}

/** What git itself says (see gitInfo). */
export async function askGit(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<GitInfo> {
  const git = (...args: string[]): Promise<string | undefined> =>
    new Promise((resolve) => {
      execFile("git", ["-C", dir, ...args], { encoding: "utf8", timeout: 5_000, env }, (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined));
    });
  const [remote, revision] = await Promise.all([git("remote", "get-url", "origin"), git("rev-parse", "HEAD")]);
  return { ...(revision ? { revision } : {}), ...(remote ? { source: redactUrl(remote) } : {}) };
}

/**
 * The same from the repository's files, or undefined wherever git could answer otherwise, so that
 * git is asked: a GIT_* variable set; a `.git` that is a file (a worktree, a submodule) or not ours
 * (git's safe.directory rule); a folder on another filesystem on the way up (git stops there); a
 * config git reads with includes, URL rewriting (`insteadOf`), extensions (reftable …) or an
 * origin outside the repository's own config, legacy remotes files, a quoted or escaped URL; a
 * symbolic ref that points to another, or a HEAD of another shape.
 */
export function readGitFiles(dir: string, env: NodeJS.ProcessEnv = process.env): GitInfo | undefined {
  try {
    if (Object.keys(env).some((name) => name.startsWith("GIT_") && !IDLE_GIT_VARIABLES.test(name))) return undefined;
    const repository = findRepository(realpathSync(dir));
    if (repository === "ask") return undefined;
    if (repository === undefined) return {}; // not in a repository: git has nothing to say either
    const config = readText(join(repository, "config")) ?? "";
    const shared = sharedConfigs(env).map(readText);
    if ([config, ...shared].some((text) => text !== undefined && /\[\s*(include|includeif|extensions)\b|insteadof/i.test(text))) return undefined;
    if (shared.some((text) => text !== undefined && /\[\s*remote\b/i.test(text))) return undefined;
    const url = originUrl(config);
    if (url === "ask") return undefined;
    if (url === undefined && (exists(join(repository, "remotes", "origin")) || exists(join(repository, "branches", "origin")))) return undefined;
    const revision = headRevision(repository);
    if (revision === "ask") return undefined;
    return { ...(revision ? { revision } : {}), ...(url ? { source: redactUrl(url) } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * GIT_* variables that change neither which repository git finds nor what its config, refs or HEAD
 * say: TLS, HTTP and SSH transport, prompts, identities, editors, pagers, tracing. CI machines and
 * proxied networks set them (GIT_SSL_CAINFO, GIT_TERMINAL_PROMPT=0, GIT_SSH_COMMAND, GIT_AUTHOR_NAME),
 * and git was spawned for nothing there. Any other GIT_* variable (GIT_DIR, GIT_CONFIG_*,
 * GIT_CEILING_DIRECTORIES, GIT_COMMON_DIR, …, and any git may add) still means git is asked.
 */
const IDLE_GIT_VARIABLES = /^GIT_(SSL_\w+|HTTP_\w+|SSH|SSH_COMMAND|SSH_VARIANT|ASKPASS|TERMINAL_PROMPT|(AUTHOR|COMMITTER)_(NAME|EMAIL|DATE)|EDITOR|SEQUENCE_EDITOR|PAGER|TRACE\w*|CURL_VERBOSE|PROTOCOL_FROM_USER|PROXY_COMMAND|PROXY_SSL_\w+|FLUSH|REDACT_COOKIES|MERGE_VERBOSITY|MERGE_AUTOEDIT|ALLOW_PROTOCOL)$/;

/** The `.git` folder above `dir`, undefined when there is none, "ask" when git's answer could differ. */
function findRepository(dir: string): string | "ask" | undefined {
  const uid = process.getuid?.();
  const device = lstatSync(dir).dev;
  for (let current = dir; ; current = dirname(current)) {
    const folder = lstatSync(current);
    if (folder.dev !== device) return "ask";
    let dotGit: Stats | undefined;
    try {
      dotGit = lstatSync(join(current, ".git"));
    } catch {
      dotGit = undefined;
    }
    if (dotGit) {
      if (!dotGit.isDirectory()) return "ask";
      if (uid !== undefined && (dotGit.uid !== uid || folder.uid !== uid)) return "ask";
      return join(current, ".git");
    }
    if (dirname(current) === current) return undefined;
  }
}

/** The config files git reads besides the repository's own (system, then global). */
function sharedConfigs(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME ?? homedir();
  return ["/etc/gitconfig", join(env.XDG_CONFIG_HOME || join(home, ".config"), "git", "config"), join(home, ".gitconfig")];
}

/** The first `url` of `[remote "origin"]`, undefined when there is none, "ask" when it is not plain. */
function originUrl(config: string): string | "ask" | undefined {
  let inOrigin = false;
  for (const raw of config.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      // [section "subsection"]: the section's name in any case, the subsection's exactly; nothing after it.
      const header = /^\[\s*([A-Za-z0-9-]+)\s+"([^"\\]*)"\s*\]$/.exec(line);
      if (header) inOrigin = header[1]!.toLowerCase() === "remote" && header[2] === "origin";
      else if (/^\[\s*[A-Za-z0-9-]+\s*\]$/.test(line)) inOrigin = false;
      else if (/^\[\s*remote\b/i.test(line)) return "ask"; // [remote.origin], or a header with more on its line
      else inOrigin = false;
      continue;
    }
    if (!inOrigin) continue;
    const match = /^url\s*=\s*(.*)$/i.exec(line);
    if (!match) continue;
    const value = match[1]!.trim();
    return value === "" || /["\\#;]/.test(value) ? "ask" : value;
  }
  return undefined;
}

/** The commit HEAD names, undefined on a branch without commits, "ask" for anything else. */
function headRevision(repository: string): string | "ask" | undefined {
  const head = readText(join(repository, "HEAD"))?.trim();
  if (head === undefined) return "ask";
  if (isObjectId(head)) return head; // detached
  const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
  if (!ref || ref.split("/").includes("..")) return "ask";
  const loose = readText(join(repository, ref))?.trim();
  if (loose !== undefined) return isObjectId(loose) ? loose : "ask";
  const packed = readText(join(repository, "packed-refs"));
  for (const line of packed?.split("\n") ?? []) {
    const [id, name] = line.trim().split(" ");
    if (name === ref && id !== undefined) return isObjectId(id) ? id : "ask";
  }
  return undefined;
}

const isObjectId = (text: string) => /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(text);

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
