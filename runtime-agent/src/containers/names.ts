import { invalid } from '../errors.js';

/** Docker's container name rule (after an optional leading slash). */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Normalises a user-given name; throws Docker's message when invalid. */
export function validateName(name: string): string {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!VALID_NAME.test(bare)) {
    throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return bare;
}

const ADJECTIVES = [
  'brave', 'calm', 'eager', 'fond', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry',
  'nimble', 'proud', 'quiet', 'rapid', 'sharp', 'steady', 'swift', 'tidy', 'vivid', 'witty',
];
const NOUNS = [
  'anchor', 'barge', 'beacon', 'buoy', 'cutter', 'dinghy', 'ferry', 'harbor', 'jetty', 'keel',
  'lighthouse', 'mooring', 'pier', 'quay', 'rudder', 'schooner', 'sloop', 'tug', 'wharf', 'yawl',
];

/** A random `adjective_noun` name not in `taken` (with a numeric suffix when needed). */
export function generateName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const adjective = ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)] as string;
    const noun = NOUNS[Math.floor(Math.random() * NOUNS.length)] as string;
    const name = attempt < 10 ? `${adjective}_${noun}` : `${adjective}_${noun}${attempt}`;
    if (!taken(name)) return name;
  }
}
