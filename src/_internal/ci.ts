/**
 * Whether this process runs as a CI job. Most CI services set `CI` (GitHub Actions, GitLab, CircleCI,
 * Travis, Buildkite, Bitbucket, Woodpecker…); "false" or "0" there says it is not one. Some set only
 * their own variable: Azure Pipelines `TF_BUILD`, Jenkins `JENKINS_URL`, TeamCity `TEAMCITY_VERSION`,
 * AWS CodeBuild `CODEBUILD_BUILD_ID`. Imports nothing: the CLI's entry asks it before loading anything.
 */
export function runsInCi(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI?.trim().toLowerCase();
  if (ci === "false" || ci === "0") return false;
  return Boolean(ci || env.CONTINUOUS_INTEGRATION || env.TF_BUILD || env.JENKINS_URL || env.TEAMCITY_VERSION || env.CODEBUILD_BUILD_ID);
}
