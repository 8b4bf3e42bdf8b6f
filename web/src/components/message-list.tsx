/**
 * The message list, windowed: at most WINDOW messages are in the DOM, however many are loaded. Scrolling near the
 * top slides the window up (loading an older page from the server when it reaches the first loaded message);
 * scrolling near the bottom slides it down, and at the end it follows new messages. The row under the viewport's
 * top edge is kept in place across every change, so nothing jumps.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { WireMessage } from '../../../src/protocol/frames.js';
import type { ChatModel } from '../chat-model.js';
import { dayKey, formatDay, formatTime } from '../format.js';

export const WINDOW = 120;
const STEP = 40;
const EDGE_PX = 120;

interface Anchor {
  key: string;
  offset: number;
}

export function MessageList({ model, room }: { model: ChatModel; room: string }) {
  const view = model.view(room);
  const { messages } = view;
  const scroller = useRef<HTMLDivElement>(null);
  /** The seq of the last rendered message, or null to follow the newest. */
  const [endSeq, setEndSeq] = useState<number | null>(null);
  const busy = useRef(false);

  const lastIdx = messages.length - 1;
  const endIdx = endSeq === null ? lastIdx : Math.max(0, messages.findIndex((m) => m.seq === endSeq));
  const startIdx = Math.max(0, endIdx + 1 - WINDOW);
  const rendered = messages.slice(startIdx, endIdx + 1);
  const following = endSeq === null;
  const pending = following ? model.pendingIn(room) : [];

  // Read the DOM as it is before this render commits: are we at the bottom, and which row is at the top edge?
  const el = scroller.current;
  const stick = useRef(true);
  const jump = useRef(false);
  const anchor = useRef<Anchor | null>(null);
  if (el) {
    stick.current = jump.current || (following && el.scrollHeight - el.scrollTop - el.clientHeight < 40);
    anchor.current = null;
    for (const row of el.querySelectorAll<HTMLElement>('[data-key]')) {
      if (row.offsetTop + row.offsetHeight > el.scrollTop) {
        anchor.current = { key: row.dataset.key!, offset: row.offsetTop - el.scrollTop };
        break;
      }
    }
  }

  useLayoutEffect(() => {
    const box = scroller.current;
    if (!box) return;
    jump.current = false;
    if (stick.current) box.scrollTop = box.scrollHeight;
    else if (anchor.current) {
      const row = box.querySelector<HTMLElement>(`[data-key="${anchor.current.key}"]`);
      if (row) box.scrollTop = row.offsetTop - anchor.current.offset;
    }
    busy.current = false;
    if (stick.current && document.visibilityState === 'visible') model.markRead(room);
    // Still at the top edge after a change (a page arrived, the window slid): keep going, as scrolling would.
    else if (box.scrollTop < EDGE_PX && box.scrollHeight > box.clientHeight) older();
  });

  function older() {
    if (busy.current) return;
    if (startIdx > 0) {
      busy.current = true;
      setEndSeq(messages[Math.max(WINDOW - 1, endIdx - STEP)]!.seq);
    } else if (view.hasOlder && !view.loadingOlder) {
      busy.current = true;
      void model.loadOlder(room);
    }
  }

  function newer() {
    if (busy.current || endSeq === null) return;
    busy.current = true;
    const next = endIdx + STEP;
    setEndSeq(next >= lastIdx ? null : messages[next]!.seq);
  }

  function onScroll() {
    const box = scroller.current;
    if (!box) return;
    if (box.scrollTop < EDGE_PX) older();
    else if (box.scrollHeight - box.scrollTop - box.clientHeight < EDGE_PX) newer();
  }

  return (
    <div class="scroller" ref={scroller} onScroll={onScroll} tabIndex={0} aria-label="Messages" data-testid="messages">
      <div class="list-top">
        {startIdx > 0 || view.hasOlder ? (
          <button type="button" class="link" onClick={older} disabled={view.loadingOlder}>
            {view.loadingOlder ? 'Loading older messages…' : 'Show older messages'}
          </button>
        ) : view.loaded ? (
          <p class="hint">This is the beginning of the room.</p>
        ) : null}
      </div>
      <ol class="messages">
        {rendered.map((m, i) => (
          <Row key={m.seq} message={m} me={model.me} newDay={i === 0 || dayKey(rendered[i - 1]!.created_at) !== dayKey(m.created_at)} />
        ))}
        {pending.map((p) => (
          <li key={p.clientMsgId} class="msg own pending" data-key={`p-${p.clientMsgId}`} data-testid="pending">
            <div class="meta">
              <span class="sender">You</span> <span class="status">{p.error ? `Not sent: ${p.error}` : model.connection.state === 'connected' ? 'Sending…' : 'Waiting for connection…'}</span>
              {p.error && (
                <button type="button" class="link small" onClick={() => model.dismiss(p.clientMsgId)}>
                  Dismiss
                </button>
              )}
            </div>
            <p class="body">{p.body}</p>
          </li>
        ))}
      </ol>
      {!following && (
        <button type="button" class="jump" onClick={() => ((jump.current = true), setEndSeq(null))}>
          Jump to latest ↓
        </button>
      )}
    </div>
  );
}

function Row({ message: m, me, newDay }: { message: WireMessage; me: string; newDay: boolean }) {
  const own = m.sender.id === me;
  return (
    <>
      {newDay && (
        <li class="day" data-testid="day">
          <span>{formatDay(m.created_at)}</span>
        </li>
      )}
      <li class={`msg ${own ? 'own' : ''} ${m.type === 'system' ? 'system' : ''}`} data-key={`m-${m.seq}`} data-seq={m.seq} data-testid="message">
        {m.type === 'system' ? (
          <p class="body">
            {m.body} · <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
          </p>
        ) : (
          <>
            <div class="meta">
              <span class="sender">{own ? 'You' : m.sender.name}</span> <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
            </div>
            <p class="body">{m.body}</p>
          </>
        )}
      </li>
    </>
  );
}
