import type Docker from "dockerode";
import { BuildError, DaemonUnreachableError } from "../errors.js";
import { ignoreProgress, type ProgressListener } from "../progress.js";
import { setOptions } from "./client.js";
import { daemonAddress } from "./endpoint.js";
import { reasonOf } from "./engine-error.js";
import { engineMessages, messageError } from "./stream.js";

export interface EngineBuildOptions {
  /** Path of the Dockerfile inside the context. Default `Dockerfile`. */
  dockerfile?: string;
  platform?: string;
  labels?: Record<string, string>;
  tags?: string[];
  onProgress?: ProgressListener;
}

const TAIL = 15;
/** Daemon chatter that says nothing about the build (a daemon without a bridge network prints it on every step). */
const NOISE = /^\s*(---> )?\[Warning\] IPv4 forwarding is disabled/;

/**
 * Builds an image from a context tar through the Engine API, streaming progress. Errors that
 * arrive inside the successful HTTP stream (`error`/`errorDetail`) become BuildErrors naming the
 * failing step with the last lines of output; the image ID comes from the `aux` message.
 */
export async function buildImage(docker: Docker, context: NodeJS.ReadableStream, options: EngineBuildOptions = {}): Promise<string> {
  const onProgress = options.onProgress ?? ignoreProgress;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      context,
      setOptions({
        dockerfile: options.dockerfile ?? "Dockerfile",
        t: options.tags?.[0],
        labels: options.labels,
        platform: options.platform,
        rm: true,
        forcerm: true,
      }) as Docker.ImageBuildOptions,
    );
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === undefined) {
      throw new DaemonUnreachableError(`cannot reach the Docker daemon at ${daemonAddress()}: ${reasonOf(error)}`);
    }
    throw new BuildError(`the Docker daemon refused the build: ${reasonOf(error)}`);
  }

  const tail: string[] = [];
  let step: string | undefined;
  let imageId: string | undefined;
  for await (const message of engineMessages(stream)) {
    const failure = messageError(message);
    if (failure) {
      const where = step ? ` at ${step}` : "";
      throw new BuildError(`image build failed${where}: ${failure.trim()}`, { logTail: [...tail] });
    }
    if (message.aux?.ID) imageId = message.aux.ID;
    const text = message.stream ?? message.status;
    if (!text) continue;
    for (const line of text.split("\n").map((l) => l.trimEnd()).filter((l) => l && !NOISE.test(l))) {
      const stepMatch = /^Step (\d+\/\d+) : (.*)$/.exec(line);
      if (stepMatch) step = `step ${stepMatch[1]} (${stepMatch[2]})`;
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
      onProgress({ phase: "build", message: line, id: step });
    }
  }
  if (!imageId) {
    throw new BuildError("the Docker daemon finished the build without reporting an image ID", { logTail: tail });
  }
  return imageId;
}
