/**
 * CONTRACT (to be implemented): a container's filesystem for the archive API (`docker cp`),
 * export and the browse API.
 *
 *   live      running or paused: `/proc/<pid>/root` of its init, in-root confinement: what the
 *             process sees (volumes, binds, tmpfs, /proc...)
 *   held      not running: `berth-helper hold` (HoldSpec) mounts rootfs + volumes + binds in a
 *             mount namespace of its own; `writable` asks for the read-write overlay (PUT
 *             archive), which a start waits for; read-only holds use lower=[upper, ...image]
 *   rootfs    export: image layers + writable layer only, never mounts (a read-only hold even
 *             while the container runs)
 */
export {};
