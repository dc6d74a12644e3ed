import { checkImageReference, referenceText } from '@shared/image-reference.js';

/** What the Build dialog's fields hold, checked before anything is sent. */
export interface BuildFields {
  readonly folder: string;
  readonly dockerfile: string;
  readonly tags: string;
  readonly buildArgs: string;
}

export type BuildFieldErrors = Partial<Record<keyof BuildFields, string>>;

export interface ParsedBuild {
  readonly contextPath: string;
  readonly dockerfile?: string;
  readonly tags: string[];
  readonly buildArgs: Record<string, string>;
}

/** An absolute path on the app's machine: `/…` (Linux, macOS) or `C:\…` (Windows). */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

export function parseBuildFields(fields: BuildFields): { ok: true; value: ParsedBuild } | { ok: false; errors: BuildFieldErrors } {
  const errors: BuildFieldErrors = {};
  const folder = fields.folder.trim();
  if (folder === '') errors.folder = 'Enter the folder to build: the absolute path of the directory holding the Dockerfile.';
  else if (!isAbsolutePath(folder)) errors.folder = `Give an absolute path on this machine (like /home/me/app), not "${folder}".`;
  const tags: string[] = [];
  for (const tag of fields.tags.split(/[\s,]+/).filter(Boolean)) {
    const check = checkImageReference(tag);
    if (!check.ok) errors.tags = check.message;
    else if (check.reference.digest !== undefined) errors.tags = `A tag names a tag, not a digest: "${tag}".`;
    else tags.push(referenceText(check.reference));
  }
  const buildArgs: Record<string, string> = {};
  for (const [i, raw] of fields.buildArgs.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      errors.buildArgs = `Line ${i + 1}: write NAME=value (a name of letters, digits and _).`;
      continue;
    }
    buildArgs[name] = eq < 0 ? '' : line.slice(eq + 1);
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const dockerfile = fields.dockerfile.trim();
  return { ok: true, value: { contextPath: folder, ...(dockerfile === '' ? {} : { dockerfile }), tags, buildArgs } };
}
