import { useEffect, useState } from 'preact/hooks';
import type { ChatModel } from './chat-model.js';

/** Re-renders the component whenever the model reports a change. */
export function useModel(model: ChatModel): void {
  const [, setTick] = useState(0);
  useEffect(() => model.subscribe(() => setTick((n) => n + 1)), [model]);
}
