import { slugify } from "../../flow/name.js";

// Apart from packager.ts so that `run --on docker` names a loaded image without loading the builders.

/** Local repository that keeps every image flowpack builds through a daemon: `flowpack/<flow>:<tag>`. */
export const LOCAL_REPOSITORY = "flowpack";

/** The daemon-side name of a flow's image: `flowpack/<flow-slug>:<tag>` (flow names may not be valid references). */
export function localImageName(flowName: string, tag: string): string {
  return `${LOCAL_REPOSITORY}/${slugify(flowName)}:${tag}`;
}
