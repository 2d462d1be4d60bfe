/// <reference lib="dom" />
/**
 * The "pushes recorded for offline users" panel: polls the local stack's push recorder
 * (`GET /_local/pushes`, oldest first) every 2 s and shows the newest 20, newest on top.
 */
import { h, syncKeyed, timeOf } from './dom.ts';

const POLL_MS = 2_000;
const SHOWN = 20;

interface RecordedPush {
  readonly userId: string;
  readonly deviceId: string;
  readonly platform: string;
  readonly title: string;
  readonly body: string;
  readonly badge: string;
  readonly sentAt: string;
  readonly messageId: string;
}

export function startPushPanel(list: HTMLElement, status: HTMLElement): void {
  const poll = async () => {
    try {
      const response = await fetch('/_local/pushes', { cache: 'no-store' });
      if (!response.ok) throw new Error(`the push recorder answered ${response.status}`);
      const pushes = toPushes(await response.json())
        .slice(-SHOWN)
        .reverse();
      status.textContent = pushes.length === 0 ? 'None yet: close one user’s page and write to them.' : '';
      render(list, pushes);
    } catch (error) {
      status.textContent = `Cannot read pushes: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      setTimeout(poll, POLL_MS);
    }
  };
  void poll();
}

function render(list: HTMLElement, pushes: readonly RecordedPush[]): void {
  syncKeyed(
    list,
    pushes,
    (push) => `${push.sentAt}/${push.userId}/${push.deviceId}/${push.messageId}`,
    (push) =>
      h(
        'li',
        { className: 'push', testId: 'push', attrs: { 'data-user-id': push.userId } },
        h(
          'p',
          { className: 'meta' },
          h('strong', {}, `to ${push.userId}`),
          ` · ${push.platform} ${push.deviceId}${push.badge === '' ? '' : ` · badge ${push.badge}`} · `,
          h('time', { attrs: { datetime: push.sentAt } }, timeOf(push.sentAt)),
        ),
        h('p', { className: 'push-title' }, push.title),
        h('p', { className: 'push-body', testId: 'push-body' }, push.body),
      ),
    () => {},
  );
}

/** The recorder's JSON, read defensively: whatever it holds is shown as text, never trusted as markup. */
function toPushes(value: unknown): RecordedPush[] {
  if (!Array.isArray(value)) return [];
  const text = (field: unknown) =>
    typeof field === 'string' || typeof field === 'number' ? String(field) : '';
  return value.map((raw: Record<string, unknown>) => {
    const data =
      typeof raw.data === 'object' && raw.data !== null ? (raw.data as Record<string, unknown>) : {};
    return {
      userId: text(raw.userId),
      deviceId: text(raw.deviceId),
      platform: text(raw.platform),
      title: text(raw.title),
      body: text(raw.body),
      badge: text(raw.badge),
      sentAt: text(raw.sentAt),
      messageId: text(data.messageId),
    };
  });
}
