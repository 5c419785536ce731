/**
 * Files onnxq has created and not yet put in place or removed (temporary outputs, models staged for
 * onnxruntime), so that an interrupted run (Ctrl-C, SIGTERM) removes them as a failed one does,
 * instead of leaving them in the user's folders. The CLI calls removeAbandoned() on those signals.
 */
const pending = new Set<() => void>();

/** Registers `remove` until the returned function is called (the files were placed or removed). */
export function whileAbandonable(remove: () => void): () => void {
  pending.add(remove);
  return () => pending.delete(remove);
}

export function removeAbandoned(): void {
  for (const remove of pending)
    try {
      remove();
    } catch {
      // Best effort on the way out: one file that cannot be removed must not keep the others.
    }
  pending.clear();
}
