// Types for npm-packlist (it ships none): the files `npm pack` would publish from a package folder.
declare module "npm-packlist" {
  /** The slice of an @npmcli/arborist node that npm-packlist reads. */
  interface PacklistTree {
    path: string;
    package: Record<string, unknown>;
    isProjectRoot: boolean;
    edgesOut: Map<string, unknown>;
    workspaces?: Map<string, string>;
  }
  /** POSIX paths relative to `tree.path`. */
  function packlist(tree: PacklistTree, options?: { path?: string }): Promise<string[]>;
  export default packlist;
}
