/**
 * Where the client keeps what must survive an app restart (the outbox of unacknowledged sends, and
 * the highest `seq` held per conversation). The shape is that of the Web Storage API and of React
 * Native's AsyncStorage, so either can be passed as it is:
 *
 *   new ParleyClient({ ..., storage: window.localStorage })                                  // browsers
 *   import AsyncStorage from '@react-native-async-storage/async-storage';
 *   new ParleyClient({ ..., storage: AsyncStorage })                                         // React Native / Expo
 *
 * Values are JSON strings under keys that start with `parley:` and name the user.
 */
export interface KeyValueStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** The default: kept in memory, so lost with the process (sends still retry across reconnects). */
export function memoryStorage(): KeyValueStorage {
  const values = new Map<string, string>();
  return {
    getItem: (key) => values.get(key) ?? null,
    setItem: (key, value) => {
      values.set(key, value);
    },
    removeItem: (key) => {
      values.delete(key);
    },
  };
}

/** Reads a JSON value, or `fallback` when missing or unreadable (a corrupt entry must not stop the app). */
export async function readJson<T>(storage: KeyValueStorage, key: string, fallback: T): Promise<T> {
  try {
    const text = await storage.getItem(key);
    return text === null ? fallback : (JSON.parse(text) as T);
  } catch {
    return fallback;
  }
}

/**
 * Writes are chained per key, so that an older value never lands after a newer one with an
 * asynchronous storage.
 */
export class JsonSlot<T> {
  readonly #storage: KeyValueStorage;
  readonly #key: string;
  #writing: Promise<void> = Promise.resolve();

  constructor(storage: KeyValueStorage, key: string) {
    this.#storage = storage;
    this.#key = key;
  }

  read(fallback: T): Promise<T> {
    return readJson(this.#storage, this.#key, fallback);
  }

  write(value: T): Promise<void> {
    const text = JSON.stringify(value);
    this.#writing = this.#writing.then(() => this.#storage.setItem(this.#key, text)).catch(() => undefined);
    return this.#writing;
  }
}
