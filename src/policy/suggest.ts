/**
 * "did you mean" for near misses of a closed list of names.
 *
 * @module
 */

/** "did you mean 'x'?" for a near miss, else the list of known keys. */
export function suggest(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 4))) {
    return `did you mean '${best}'?`;
  }
  const longer = known.filter((candidate) => candidate.startsWith(`${name.toLowerCase()}_`));
  if (longer.length > 0 && longer.length <= 3) {
    return `did you mean ${longer.map((candidate) => `'${candidate}'`).join(" or ")}?`;
  }
  return `expected one of ${known.join(", ")}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
