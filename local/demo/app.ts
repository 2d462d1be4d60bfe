/// <reference lib="dom" />
/**
 * The local stack's demo chat page (served at `/` by serve-demo.ts, bundled by esbuild): log in with a
 * user id (the stack signs a development token), then chat through the client SDK. The push panel
 * works before logging in, so one window can just watch the pushes.
 */
import { type Chat, startChat } from './chat.ts';
import { fetchDevToken } from './dev-token-client.ts';
import { byId } from './dom.ts';
import { startPushPanel } from './push-panel.ts';

/** Only the user id is kept, per tab, so a reload logs the same user in again. */
const USER_KEY = 'parley-demo:userId';

const login = byId('login');
const chatView = byId('chat');
const form = byId<HTMLFormElement>('login-form');
const input = byId<HTMLInputElement>('login-user');
const submit = byId<HTMLButtonElement>('login-submit');
const error = byId('login-error');
let chat: Chat | undefined;

async function logIn(userId: string): Promise<void> {
  error.textContent = '';
  submit.disabled = true;
  try {
    const token = await fetchDevToken(userId);
    sessionStorage.setItem(USER_KEY, userId);
    login.hidden = true;
    chatView.hidden = false;
    chat = startChat(userId, token);
  } catch (reason) {
    error.textContent = `Could not log in: ${reason instanceof Error ? reason.message : String(reason)}`;
    input.focus();
  } finally {
    submit.disabled = false;
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void logIn(input.value.trim());
});

byId('logout').addEventListener('click', () => {
  chat?.close();
  sessionStorage.removeItem(USER_KEY);
  // A fresh page is the simplest way to drop every listener and every message of the old user.
  location.reload();
});

startPushPanel(byId('push-list'), byId('push-status'));
const remembered = sessionStorage.getItem(USER_KEY);
if (remembered !== null) {
  input.value = remembered;
  void logIn(remembered);
}
