import { UsageError } from "../errors.js";

/** Options that only a swarm run takes: where its task may be placed and what it may use. */
export interface SwarmOnlyOptions {
  /** Placement constraints (`node.role==worker`, `node.labels.zone==a`), all of which must hold. */
  constraints?: string[];
  /** CPU limit of the flow's container (0.5, 2). */
  cpus?: number | string;
  /** Memory limit of the flow's container: bytes, or `256m`, `1g`. */
  memory?: number | string;
}

/** Refuses swarm-only options for another target, naming the flag, before anything starts. */
export function assertSwarmOnlyOptions(on: string, options: SwarmOnlyOptions): void {
  if (on === "swarm") return;
  const given = [
    options.constraints?.length ? "--constraint" : undefined,
    options.cpus !== undefined ? "--cpus" : undefined,
    options.memory !== undefined ? "--memory" : undefined,
  ].filter(Boolean);
  if (given.length) throw new UsageError(`${given.join(", ")} applies to --on swarm only (this run is --on ${on})`);
}
