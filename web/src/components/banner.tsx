/** The connection banner: nothing while connected; connecting / reconnecting / offline otherwise. */
import type { ChatModel } from '../chat-model.js';

export function Banner({ model }: { model: ChatModel }) {
  const { state, retryInMs } = model.connection;
  let text: string | null = null;
  if (!model.online) text = 'Offline — waiting for the network. Messages you send are kept and sent when it is back.';
  else if (state === 'connecting' || state === 'idle') text = 'Connecting…';
  else if (state === 'closed') text = `Disconnected${model.connection.reason ? ` (${model.connection.reason})` : ''}. Reload the page to reconnect.`;
  else if (state === 'reconnecting')
    text = `Reconnecting${retryInMs !== undefined && retryInMs > 1500 ? ` in ${Math.round(retryInMs / 1000)} s` : ''}… Messages you send are kept and sent when it is back.`;
  return (
    <div class={`banner ${text ? 'shown' : ''}`} role="status" aria-live="polite" data-state={model.online ? state : 'offline'}>
      {text}
    </div>
  );
}
