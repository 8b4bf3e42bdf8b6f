/** The message box: Enter sends, Shift+Enter adds a line; tells the room I am typing (at most every 3 s). */
import { useRef } from 'preact/hooks';
import type { ChatModel } from '../chat-model.js';

const TYPING_EVERY_MS = 3_000;

export function Composer({ model, room }: { model: ChatModel; room: string }) {
  const box = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);

  function send() {
    const el = box.current;
    if (!el) return;
    const body = el.value;
    if (body.trim() === '') return;
    model.send(room, body);
    el.value = '';
    lastTyping.current = 0;
    el.focus();
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  }

  function onInput() {
    const now = Date.now();
    if (now - lastTyping.current < TYPING_EVERY_MS || model.connection.state !== 'connected') return;
    lastTyping.current = now;
    model.client.typing(room).catch(() => undefined);
  }

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for="composer" class="sr-only">
        Message
      </label>
      <textarea
        id="composer"
        ref={box}
        rows={2}
        maxLength={4000}
        placeholder="Write a message — Enter to send, Shift+Enter for a new line"
        onKeyDown={onKeyDown}
        onInput={onInput}
        aria-describedby="composer-hint"
      />
      <span id="composer-hint" class="sr-only">
        Enter sends, Shift+Enter adds a new line.
      </span>
      <button type="submit">Send</button>
    </form>
  );
}
