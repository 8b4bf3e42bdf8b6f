/** The page: restore the session (or show the login form), then the chat screen. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { NatterApi } from '../../client/http-api.js';
import { AuthForm } from './components/auth-form.js';
import { ChatScreen } from './components/chat-screen.js';
import { Session } from './session.js';

export function App() {
  const api = useMemo(() => new NatterApi(), []);
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    Session.restore(api).then(
      (restored) => {
        if (restored === 'expired') setNotice('Your session has expired. Please log in again.');
        setSession(restored === 'expired' ? null : restored);
      },
      () => {
      setSession(null);
        setNotice('natter is not reachable right now. Reload to try again.');
      },
    );
  }, [api]);

  if (session === undefined) {
    return (
      <p class="splash" role="status">
        Loading…
      </p>
    );
  }
  if (session === null) {
    return (
      <AuthForm
        api={api}
        notice={notice}
        onSession={(s) => {
          setNotice(null);
          setSession(s);
        }}
      />
    );
  }
  return (
    <ChatScreen
      key={session.user.id}
      session={session}
      onLoggedOut={(reason) => {
        setNotice(reason);
        setSession(null);
      }}
    />
  );
}
