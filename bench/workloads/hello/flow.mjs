// bench workload "hello": one file, no dependencies beyond zod.
import { flow } from "flowpack";
import { z } from "zod";

const VARIANT = "base"; // the benchmark's code-only change rewrites this one line

export const hello = flow(
  {
    name: "bench-hello",
    description: "Greets someone",
    parameters: z.object({ name: z.string().min(1).default("world") }),
  },
  async ({ name }) => ({ greeting: `Hello, ${name}!`, variant: VARIANT }),
);
