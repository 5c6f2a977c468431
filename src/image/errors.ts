import { FlowpackError } from "../errors.js";

/**
 * Errors raised by the image model. They are bad input (exit 2): a malformed reference, an entry
 * that would escape the image root, a layout that is not an OCI layout. I/O failures underneath
 * (disk full, permission denied) keep their Node error as `cause`.
 */

/** An image reference that breaks a rule of the reference grammar; the message names the rule. */
export class ImageReferenceError extends FlowpackError {
  override readonly code = "IMAGE_REFERENCE_INVALID";
}

/** An entry or option the layer builder refuses (`..`, a symlink leaving the folder, a duplicate path). */
export class LayerError extends FlowpackError {
  override readonly code = "LAYER_INVALID";
}

/** An image config, manifest or index that does not match the OCI / Docker schema, or that contradicts itself. */
export class ImageFormatError extends FlowpackError {
  override readonly code = "IMAGE_INVALID";
}

/** An OCI image layout directory that is missing, malformed, or lacks the requested image. */
export class ImageLayoutError extends FlowpackError {
  override readonly code = "IMAGE_LAYOUT_INVALID";
}

/** A layer entry the extractor refuses to write (path traversal, escaping link, device file). */
export class UnsafeLayerEntryError extends FlowpackError {
  override readonly code = "LAYER_ENTRY_UNSAFE";
}
