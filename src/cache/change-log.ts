/**
 * Which keys this instance changed, or heard that another instance changed, since a given moment. A read or a load
 * that started before a change must not put what it fetched into memory: it would bring back the value the change
 * replaced, and nothing would ever drop it again.
 */

/**
 * Keys remembered at most, and their total length; past either the log starts over and treats every older moment as
 * "everything changed" (reads then simply do not fill memory until they start anew).
 */
const KEYS_TRACKED = 10_000;
const KEY_CHARS_TRACKED = 1024 * 1024;

export class ChangeLog {
  private sequence = 0;
  private readonly lastChange = new Map<string, number>();
  private keyChars = 0;
  /** The last change to many keys at once (a prefix dropped, the memory tier cleared), or the last start-over. */
  private lastBulkChange = 0;

  /** The present moment, to compare against later. */
  mark(): number {
    return this.sequence;
  }

  changed(key: string): void {
    this.sequence += 1;
    if (this.lastChange.size >= KEYS_TRACKED || this.keyChars + key.length > KEY_CHARS_TRACKED) {
      this.lastChange.clear();
      this.keyChars = 0;
      this.lastBulkChange = this.sequence;
    }
    if (!this.lastChange.has(key)) this.keyChars += key.length;
    this.lastChange.set(key, this.sequence);
  }

  changedMany(): void {
    this.sequence += 1;
    this.lastBulkChange = this.sequence;
  }

  unchangedSince(key: string, mark: number): boolean {
    // Nothing at all changed since the mark (every read's case while nobody writes): no key to look up.
    if (mark === this.sequence) return true;
    return this.lastBulkChange <= mark && (this.lastChange.get(key) ?? 0) <= mark;
  }
}
