/** Log in or sign up (one form, two buttons). */
import { useState } from 'preact/hooks';
import { NatterError } from '../../../client/errors.js';
import type { NatterApi } from '../../../client/http-api.js';
import { Session } from '../session.js';

export function AuthForm({ api, notice, onSession }: { api: NatterApi; notice: string | null; onSession: (s: Session) => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: SubmitEvent) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const username = String(form.get('username') ?? '').trim();
    const password = String(form.get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      const pair = mode === 'login' ? await api.login(username, password) : await api.register(username, password);
      onSession(Session.start(api, pair));
    } catch (err) {
      setError(err instanceof NatterError ? err.message : 'Something went wrong.');
      setBusy(false);
    }
  }

  return (
    <main class="auth">
      <h1>natter</h1>
      <form onSubmit={submit} aria-labelledby="auth-title">
        <h2 id="auth-title">{mode === 'login' ? 'Log in' : 'Create an account'}</h2>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_.\-]+" />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
          required
          minLength={12}
          maxLength={256}
          aria-describedby="password-hint"
        />
        <p id="password-hint" class="hint">
          At least 12 characters.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mode === 'login' ? 'Log in' : 'Sign up'}
        </button>
        <button type="button" class="link" onClick={() => (setMode(mode === 'login' ? 'register' : 'login'), setError(null))}>
          {mode === 'login' ? 'No account? Sign up' : 'Have an account? Log in'}
        </button>
      </form>
    </main>
  );
}
