/** One open room: header, member tools, presence, the message list, typing line and composer. */
import { useState } from 'preact/hooks';
import { NatterError } from '../../../client/errors.js';
import type { ChatModel } from '../chat-model.js';
import { Composer } from './composer.js';
import { MessageList } from './message-list.js';

export function RoomPane({ model, room }: { model: ChatModel; room: string }) {
  const info = model.rooms.find((r) => r.id === room);
  const view = model.view(room);
  const present = [...view.present.values()].sort((a, b) => a.name.localeCompare(b.name));
  const typing = model.typingNames(room);
  const canAdd = info?.visibility === 'private' && info.owner_id === model.me;
  return (
    <section class="room-pane" aria-labelledby="room-title">
      <header class="room-header">
        <button type="button" class="back" onClick={() => ((model.current = null), model.changed())} aria-label="Back to the room list">
          ←
        </button>
        <h1 id="room-title">
          {info?.name ?? 'Room'}
          {info?.visibility === 'private' && <span class="badge">private</span>}
        </h1>
        <details class="presence">
          <summary>
            <span data-testid="online-count">{present.length}</span> online{canAdd ? ' · add members' : ''}
          </summary>
          <ul aria-label="Who is here" data-testid="presence">
            {present.map((u) => (
              <li key={u.id}>
                <span class="dot" aria-hidden="true" /> {u.name}
                {u.id === model.me ? ' (you)' : ''}
              </li>
            ))}
          </ul>
          {canAdd && <AddMember model={model} room={room} />}
        </details>
      </header>
      {model.notice && (
        <p class="notice" role="status">
          {model.notice}
        </p>
      )}
      <MessageList model={model} room={room} />
      <p class="typing" data-testid="typing">
        {typing.length === 1 ? `${typing[0]} is typing…` : typing.length > 1 ? `${typing.join(', ')} are typing…` : ' '}
      </p>
      <Composer model={model} room={room} />
      <div class="sr-only" aria-live="polite" aria-atomic="true">
        {model.announcement}
      </div>
    </section>
  );
}

function AddMember({ model, room }: { model: ChatModel; room: string }) {
  const [status, setStatus] = useState<string | null>(null);
  async function submit(e: SubmitEvent) {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const username = String(new FormData(formEl).get('username') ?? '').trim();
    try {
      const { added } = await model.addMember(room, username);
      setStatus(added ? `${username} was added.` : `${username} is already a member.`);
      formEl.reset();
    } catch (err) {
      setStatus(err instanceof NatterError ? err.message : 'Could not add the member.');
    }
  }
  return (
    <form class="add-member" onSubmit={submit}>
      <label for="member-name">Add a member</label>
      <div class="row">
        <input id="member-name" name="username" required placeholder="username" autocomplete="off" />
        <button type="submit">Add</button>
      </div>
      {status && <p role="status">{status}</p>}
    </form>
  );
}
