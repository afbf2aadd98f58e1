import type { Store } from '../store/store.js';
import type { BatchResult } from './batch.js';

type Listener = (result: BatchResult) => void;

const listeners = new WeakMap<Store, Set<Listener>>();

/**
 * Tells whoever asked (the alert engine) that a batch was committed to this store, after the
 * commit: cheap rules are evaluated on fresh data without waiting for the next minute.
 */
export function onIngested(store: Store, listener: Listener): () => void {
  const set = listeners.get(store) ?? new Set<Listener>();
  listeners.set(store, set);
  set.add(listener);
  return () => set.delete(listener);
}

export function announceIngested(store: Store, result: BatchResult): void {
  for (const listener of listeners.get(store) ?? []) listener(result);
}
