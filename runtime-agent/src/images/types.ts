/**
 * What the rest of berthd knows about images. The image store (`images/`) owns the
 * content store, the unpacked layers and the references; containers consume images
 * only through `ImageProvider`.
 */

/** The runtime part of an image config (`config` in the OCI / Docker image config JSON). */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  StopSignal?: string;
  Shell?: string[] | null;
  OnBuild?: string[] | null;
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
  } | null;
}

/** One unpacked layer as a container sees it. */
export interface LayerRef {
  /** sha256 of the uncompressed layer tar. */
  readonly diffId: string;
  /** sha256 chain ID (diff IDs of this and every layer below). */
  readonly chainId: string;
  /** The directory holding the layer's files (an overlay lower dir). */
  readonly dir: string;
}

export interface Image {
  /** `sha256:<hex>` of the config blob. */
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
  /** RFC 3339. */
  readonly created: string;
  readonly config: ImageRuntimeConfig;
  /** Bottom-most first, as in the image config's rootfs.diff_ids. */
  readonly layers: readonly LayerRef[];
  readonly os: string;
  readonly architecture: string;
}

/** What containers need from the image store. */
export interface ImageProvider {
  /**
   * Resolves a reference as the docker CLI gives it: `name`, `name:tag`, `name@sha256:...`,
   * a full or short image ID, with Docker's normalisation (`busybox` = `docker.io/library/busybox:latest`).
   * Throws not-found `No such image: <ref>` when absent.
   */
  resolve(ref: string): Promise<Image>;
  /** Looks an image up by exact ID; undefined when deleted. */
  byId(id: string): Promise<Image | undefined>;
}

/** What the image store needs to know about containers (rmi refuses images in use). */
export interface ImageUsers {
  /** IDs of containers (any state) created from this image ID. */
  containersUsing(imageId: string): string[];
}
