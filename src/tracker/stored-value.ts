import { countOperation } from "../platform/metering";

/**
 * One value a Durable Object keeps under `key` in its storage, read at most
 * once per instance and only when asked for; writing or deleting it is a
 * billed storage write (metered as one). `none()` records, without a read,
 * that nothing is stored: the object has just begun what the value would be
 * about, or has deleted all its storage.
 */
export class StoredValue<T> {
  /** What is stored; undefined until read. */
  #value: T | null | undefined = undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly key: string,
  ) {}

  /** The stored value, or null. */
  async read(): Promise<T | null> {
    if (this.#value === undefined) this.#value = (await this.storage.get<T>(this.key)) ?? null;
    return this.#value;
  }

  /** Stores `value` (replacing any). */
  async put(value: T): Promise<void> {
    countOperation("do_storage_writes");
    await this.storage.put(this.key, value);
    this.#value = value;
  }

  /** Deletes the value, if one is stored (no write otherwise). */
  async delete(): Promise<void> {
    if ((await this.read()) === null) return;
    this.#value = null;
    countOperation("do_storage_writes");
    await this.storage.delete(this.key);
  }

  /** Nothing is stored, known without reading. */
  none(): void {
    this.#value = null;
  }
}
