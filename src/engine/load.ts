import { createReadStream } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import type Docker from "dockerode";
import { ImageLoadError, isFlowpackError } from "../errors.js";
import { writeDockerArchive } from "../image/docker-archive.js";
import type { Image } from "../image/image.js";
import type { Layer } from "../image/layer.js";
import { reasonOf } from "./engine-error.js";
import { engineMessages, messageError } from "./stream.js";

/** `docker load` through the Engine API; errors in the response stream are raised. */
export async function loadArchive(docker: Docker, archive: Readable): Promise<void> {
  let response: NodeJS.ReadableStream;
  try {
    response = (await docker.loadImage(archive)) as NodeJS.ReadableStream;
  } catch (error) {
    throw new ImageLoadError(`the Docker daemon refused the image: ${reasonOf(error)}`);
  }
  for await (const message of engineMessages(response)) {
    const failure = messageError(message);
    if (failure) throw new ImageLoadError(`the Docker daemon refused the image: ${failure.trim()}`);
  }
}

/**
 * Streams an image into the daemon as a docker-archive, tagged `name`. Whichever side fails first
 * stops the other: a writer failure ends the upload, and when the daemon refuses the image the
 * archive stream is destroyed and the writer (with its open layer files) is waited for.
 */
export async function loadImage(docker: Docker, image: Image<Layer>, name: string): Promise<void> {
  const stream = new PassThrough();
  const writing = writeDockerArchive(image, stream, { repoTags: [name] });
  writing.catch((error: unknown) => stream.destroy(error instanceof Error ? error : new Error(String(error))));
  const loading = loadArchive(docker, stream);
  try {
    await Promise.all([loading, writing]);
  } catch (error) {
    stream.destroy();
    // When the archive could not be written (a layer that fails its digest, a missing blob), the
    // daemon only saw a truncated upload: the writer's error is the cause, and it keeps its code.
    const [written] = await Promise.allSettled([writing]);
    throw written.status === "rejected" && isFlowpackError(written.reason) ? written.reason : error;
  }
}

export function loadArchiveFile(docker: Docker, file: string): Promise<void> {
  return loadArchive(docker, createReadStream(file));
}
