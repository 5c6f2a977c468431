import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { askGit, gitInfo, readGitFiles } from "../../src/packagers/docker/git-info.js";

// The image's git labels come from the repository's files where they are plain, else from git
// itself: in every case here the answer must be git's (`git remote get-url origin`, `git rev-parse HEAD`).
const root = mkdtempSync(join(tmpdir(), "flowpack-git-"));
const home = join(root, "home");
mkdirSync(home);
// No GIT_* variables, a home of its own (no user's ~/.gitconfig), git still on the PATH.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries({ ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config") }).filter(([name]) => !name.startsWith("GIT_")));
const git = (cwd: string, ...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, env, encoding: "utf8" }).trim();

let count = 0;
/** A fresh repository with one commit, and a folder inside it where a flow would be. */
function repository(): { repo: string; src: string } {
  const repo = join(root, `repo-${count++}`);
  const src = join(repo, "src", "flows");
  mkdirSync(src, { recursive: true });
  git(repo, "init", "-q", "-b", "main");
  writeFileSync(join(src, "flow.ts"), "export {};\n");
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "one");
  return { repo, src };
}

describe("gitInfo: the image's source and revision labels, as git says them", () => {
  it.each([
    ["a branch with an origin (credentials redacted)", (repo: string) => git(repo, "remote", "add", "origin", "https://user:secret@git.example.com/acme/flows.git")],
    ["an scp-like origin", (repo: string) => git(repo, "remote", "add", "origin", "git@github.com:acme/flows.git")],
    ["no origin, another remote", (repo: string) => git(repo, "remote", "add", "upstream", "https://git.example.com/up.git")],
    ["a detached HEAD", (repo: string) => git(repo, "checkout", "-q", "--detach")],
    ["packed refs only", (repo: string) => git(repo, "pack-refs", "--all")],
    ["a branch in a folder (feature/x), packed", (repo: string) => (git(repo, "checkout", "-q", "-b", "feature/x"), git(repo, "pack-refs", "--all"))],
    ["a branch with no commit yet", (repo: string) => git(repo, "checkout", "-q", "--orphan", "empty")],
    ["comments and other sections in the config", (repo: string) => (git(repo, "config", "core.note", "x"), git(repo, "remote", "add", "origin", "https://git.example.com/acme/flows.git"), writeFileSync(join(repo, ".git", "config"), `# a comment\n[remote "Origin"]\n\turl = https://wrong.example.com/\n${readConfig(repo)}`))],
  ])("read from the files: %s", (_, setUp) => {
    const { repo, src } = repository();
    setUp(repo);
    const fromFiles = readGitFiles(src, env);
    expect(fromFiles).toBeDefined();
    expect(fromFiles).toEqual(askGitSync(src));
  });

  it.each([
    ["a URL rewritten by insteadOf", (repo: string) => (git(repo, "remote", "add", "origin", "gh:acme/flows"), git(repo, "config", "url.https://github.com/.insteadOf", "gh:"))],
    ["an include in the config", (repo: string) => (writeFileSync(join(repo, "extra.config"), '[remote "origin"]\n\turl = https://included.example.com/x.git\n'), git(repo, "config", "include.path", join(repo, "extra.config")))],
    ["an origin from the user's global config", () => writeFileSync(join(home, ".gitconfig"), '[remote "origin"]\n\turl = https://global.example.com/x.git\n')],
    ["a quoted URL", (repo: string) => writeFileSync(join(repo, ".git", "config"), `${readConfig(repo)}[remote "origin"]\n\turl = "https://git.example.com/a b.git"\n`)],
  ])("asked of git: %s", (_, setUp) => {
    const { repo, src } = repository();
    try {
      setUp(repo);
      expect(readGitFiles(src, env)).toBeUndefined();
    } finally {
      writeFileSync(join(home, ".gitconfig"), "");
    }
  });

  it("a worktree (.git is a file) is asked of git, and gitInfo gives git's answer", async () => {
    const { repo } = repository();
    git(repo, "remote", "add", "origin", "https://git.example.com/acme/flows.git");
    const worktree = join(root, `worktree-${count++}`);
    git(repo, "worktree", "add", "-q", "-b", "other", worktree);
    expect(readGitFiles(worktree, env)).toBeUndefined();
    const info = await gitInfo(worktree, env);
    expect(info).toEqual(await askGit(worktree, env));
    expect(info.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(info.source).toBe("https://git.example.com/acme/flows.git");
  });

  it("a GIT_* variable means git is asked (GIT_DIR can point anywhere)", () => {
    const { src } = repository();
    expect(readGitFiles(src, { ...env, GIT_DIR: "/elsewhere" })).toBeUndefined();
    expect(readGitFiles(src, { ...env, GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "remote.origin.url", GIT_CONFIG_VALUE_0: "x" })).toBeUndefined();
    expect(readGitFiles(src, { ...env, GIT_SOMETHING_NEW: "1" })).toBeUndefined();
  });

  it("transport, prompt and identity variables (a CI machine's, a proxy's CA) change nothing: still read from the files, as git says", () => {
    const { repo, src } = repository();
    git(repo, "remote", "add", "origin", "https://git.example.com/acme/flows.git");
    const ci = { ...env, GIT_SSL_CAINFO: "/etc/ssl/proxy-ca.pem", GIT_TERMINAL_PROMPT: "0", GIT_SSH_COMMAND: "ssh -o BatchMode=yes", GIT_AUTHOR_NAME: "ci", GIT_TRACE: "0" };
    const fromFiles = readGitFiles(src, ci);
    expect(fromFiles).toBeDefined();
    expect(fromFiles).toEqual(askGitSync(src, ci));
  });

  it("outside any repository: no labels, without asking git", () => {
    const outside = mkdtempSync(join(tmpdir(), "flowpack-no-git-"));
    expect(readGitFiles(outside, env)).toEqual({});
    expect(askGitSync(outside)).toEqual({});
  });

  it("redacts what git would print with credentials", async () => {
    const { repo, src } = repository();
    git(repo, "remote", "add", "origin", "https://user:secret@git.example.com/acme/flows.git?token=x");
    const info = await gitInfo(src, env);
    expect(info.source).toBe("https://git.example.com/acme/flows.git");
    expect(JSON.stringify(info)).not.toContain("secret");
  });
});

function readConfig(repo: string): string {
  return execFileSync("cat", [join(repo, ".git", "config")], { encoding: "utf8" });
}

/** git's own answer, with the test's environment. */
function askGitSync(dir: string, withEnv: NodeJS.ProcessEnv = env): { source?: string; revision?: string } {
  const run = (...args: string[]): string | undefined => {
    try {
      return execFileSync("git", ["-C", dir, ...args], { env: withEnv, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const remote = run("remote", "get-url", "origin");
  const revision = run("rev-parse", "HEAD");
  const redacted = remote?.replace(/^(https:\/\/)[^@/]*@/, "$1").replace(/[?#].*$/, "");
  return { ...(revision ? { revision } : {}), ...(redacted ? { source: redacted } : {}) };
}
