import { flow } from "flowpack";
import { z } from "zod";

/** The smallest useful flow: one file, one parameter with a default. */
export const hello = flow(
  {
    name: "hello",
    description: "Greets someone",
    parameters: z.object({ name: z.string().min(1).default("world") }),
  },
  async ({ name }, ctx) => {
    ctx.log.info("greeting", { name });
    return { greeting: `Hello, ${name}!` };
  },
);
