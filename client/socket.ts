/**
 * The slice of the WHATWG WebSocket the SDK uses, so it runs on the browser's global `WebSocket`, Node 22+'s global,
 * or the `ws` package on Node 20 (pass its constructor as the `WebSocket` option).
 */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/**
 * A WHATWG-style WebSocket constructor (the browser's, Node's global, or `ws`). Typed loosely on purpose: the DOM and
 * `ws` declare their event handler types differently, and the SDK only uses the members of SocketLike.
 */
export type SocketConstructor = new (url: string) => unknown;

export const OPEN = 1;

/** The global WebSocket (browsers, Node ≥ 22), or undefined (Node 20 without a flag). */
export function globalSocket(): SocketConstructor | undefined {
  return (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
}
