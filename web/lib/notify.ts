// Toasts for the outcome of an action that has no place of its own on the page.
import { notifications } from '@mantine/notifications';

export function notifyError(err: unknown, title = 'That did not work'): void {
  notifications.show({ color: 'red', title, message: err instanceof Error ? err.message : String(err) });
}

export function notifyOk(message: string): void {
  notifications.show({ color: 'green', message });
}

/** Runs `action`, showing its error as a toast instead of throwing. */
export async function attempt<T>(action: () => Promise<T>, title?: string): Promise<T | undefined> {
  try {
    return await action();
  } catch (err) {
    notifyError(err, title);
    return undefined;
  }
}
