/** My rooms (with unread counts), other public rooms, and the form to create a room. */
import { useState } from 'preact/hooks';
import { NatterError } from '../../../client/errors.js';
import type { Room } from '../../../client/http-api.js';
import type { ChatModel } from '../chat-model.js';

export function Sidebar({ model, onLogout }: { model: ChatModel; onLogout: () => void }) {
  const mine = model.rooms.filter((r) => r.member || model.client.joinedRooms().includes(r.id));
  const others = model.rooms.filter((r) => !mine.includes(r));
  return (
    <aside class="sidebar" aria-label="Rooms">
      <header class="me">
        <span>
          Signed in as <strong data-testid="me">{model.session.user.username}</strong>
        </span>
        <button type="button" onClick={onLogout}>
          Log out
        </button>
      </header>
      <nav aria-label="Room list">
        <h2>
          Your rooms{' '}
          <button type="button" class="link small" onClick={() => void model.loadRooms()} aria-label="Refresh the room list">
            ↻
          </button>
        </h2>
        <RoomLinks model={model} rooms={mine} empty="No rooms yet." />
        {others.length > 0 && (
          <>
            <h2>Public rooms</h2>
            <RoomLinks model={model} rooms={others} empty="" />
          </>
        )}
      </nav>
      <CreateRoom model={model} />
    </aside>
  );
}

function RoomLinks({ model, rooms, empty }: { model: ChatModel; rooms: Room[]; empty: string }) {
  if (rooms.length === 0) return <p class="hint">{empty}</p>;
  return (
    <ul class="rooms">
      {rooms.map((r) => {
        const unread = model.unread(r);
        return (
          <li key={r.id}>
            <button
              type="button"
              class="room-link"
              aria-current={model.current === r.id ? 'page' : undefined}
              onClick={() => void model.open(r.id)}
              data-room={r.name}
            >
              <span class="room-name">
                {r.name}
                {r.visibility === 'private' && <span class="badge">private</span>}
              </span>
              {unread > 0 && (
                <span class="unread" aria-label={`${unread} unread`}>
                  {unread > 99 ? '99+' : unread}
                </span>
              )}
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function CreateRoom({ model }: { model: ChatModel }) {
  const [error, setError] = useState<string | null>(null);
  async function submit(e: SubmitEvent) {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    setError(null);
    try {
      await model.createRoom(String(form.get('name') ?? '').trim(), form.get('visibility') === 'private' ? 'private' : 'public');
      formEl.reset();
    } catch (err) {
      setError(err instanceof NatterError ? err.message : 'Could not create the room.');
    }
  }
  return (
    <form class="create-room" onSubmit={submit} aria-labelledby="create-room-title">
      <h2 id="create-room-title">New room</h2>
      <label for="room-name">Name</label>
      <input id="room-name" name="name" required maxLength={64} />
      <label for="room-visibility">Visibility</label>
      <select id="room-visibility" name="visibility">
        <option value="public">Public — anyone can join</option>
        <option value="private">Private — members only</option>
      </select>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit">Create room</button>
    </form>
  );
}
