/** Logged in: the room list beside the open room (one or the other on a phone). */
import { useEffect, useMemo } from 'preact/hooks';
import { ChatModel } from '../chat-model.js';
import type { Session } from '../session.js';
import { useModel } from '../use-model.js';
import { Banner } from './banner.js';
import { RoomPane } from './room-pane.js';
import { Sidebar } from './sidebar.js';

export function ChatScreen({ session, onLoggedOut }: { session: Session; onLoggedOut: (reason: string) => void }) {
  const model = useMemo(() => new ChatModel(session, onLoggedOut), [session]);
  useModel(model);
  useEffect(() => {
    void model.start();
    return () => model.stop();
  }, [model]);

  const total = model.rooms.reduce((n, r) => n + model.unread(r), 0);
  useEffect(() => {
    document.title = total > 0 ? `(${total}) natter` : 'natter';
  }, [total]);

  async function logout() {
    model.stop();
    await session.logout();
    onLoggedOut('You have logged out.');
  }

  return (
    <div class={`chat ${model.current ? 'has-room' : ''}`}>
      <Banner model={model} />
      <Sidebar model={model} onLogout={logout} />
      <main class="room" aria-label="Conversation">
        {model.current ? (
          <RoomPane key={model.current} model={model} room={model.current} />
        ) : (
          <p class="empty">{model.notice ?? 'Pick a room, or create one.'}</p>
        )}
      </main>
    </div>
  );
}
