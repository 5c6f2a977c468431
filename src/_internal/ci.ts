/**
 * The variables that say a process runs as a CI job. Most CI services set `CI` (GitHub Actions,
 * GitLab, CircleCI, Travis, Buildkite, Bitbucket, Woodpecker…); some only their own: Azure Pipelines
 * `TF_BUILD`, Jenkins `JENKINS_URL` (once configured) and `JENKINS_HOME`, TeamCity
 * `TEAMCITY_VERSION`, AWS CodeBuild `CODEBUILD_BUILD_ID`.
 */
export const CI_VARIABLES = ["CI", "CONTINUOUS_INTEGRATION", "TF_BUILD", "JENKINS_URL", "JENKINS_HOME", "TEAMCITY_VERSION", "CODEBUILD_BUILD_ID"] as const;

/**
 * Whether this process runs as a CI job: one of CI_VARIABLES set to anything but "", "false" or
 * "0"; `CI` set to "false" or "0" says it is not one, whatever the others say. Imports nothing: the
 * CLI's entry asks it before loading anything.
 */
export function runsInCi(env: NodeJS.ProcessEnv): boolean {
  const says = (name: string) => env[name]?.trim().toLowerCase() ?? "";
  if (["false", "0"].includes(says("CI"))) return false;
  return CI_VARIABLES.some((name) => !["", "false", "0"].includes(says(name)));
}
