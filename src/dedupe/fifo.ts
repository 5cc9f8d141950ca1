// A first-in first-out list: O(1) push and shift, the consumed front released as it grows.

export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The front item, not removed. */
  peek(): T | undefined {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: past the end the array reads undefined all the same
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: shifting past the end writes undefined there and moves the head along, and the next push lands at the head (tested)
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head] as T;
    this.#items[this.#head++] = undefined as T;
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,ArithmeticOperator: when the consumed front is trimmed trades memory for copying; the order is the same (tested across trims)
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
