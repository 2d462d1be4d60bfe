/**
 * The example hook's credits: each user starts with a balance and every new message costs one credit.
 * A charge is keyed by (senderId, clientMessageId): the same pair reaches the hook again when Parley got
 * the first answer but its commit then failed and the client retried (integration.md), and it must not
 * cost the user twice. Parley never asks about a pair it already committed, so a pair charged here is
 * either committed once or still on its way.
 *
 * In memory, so per process: enough for the local stack and for showing the flow. Deployed, a Lambda
 * function runs in many containers that each start again with a full balance: a real hook keeps the
 * balances in a database, with the same key for the charge (for example one DynamoDB transaction that
 * puts the charge item `attribute_not_exists` and decrements the balance `balance > 0`).
 */

export type Charge =
  /** Charged now; `balance` is what is left. */
  | { readonly outcome: 'charged'; readonly balance: number }
  /** This pair was charged before: not again. */
  | { readonly outcome: 'already_charged'; readonly balance: number }
  /** No credit left: nothing charged. */
  | { readonly outcome: 'insufficient'; readonly balance: 0 };

export class Credits {
  readonly #startingBalance: number;
  readonly #balances = new Map<string, number>();
  /** `senderId` → the clientMessageIds charged. */
  readonly #charged = new Map<string, Set<string>>();

  constructor(startingBalance: number) {
    if (!Number.isInteger(startingBalance) || startingBalance < 0) {
      throw new Error(`a starting balance is a whole number of credits, got ${startingBalance}`);
    }
    this.#startingBalance = startingBalance;
  }

  balance(userId: string): number {
    return this.#balances.get(userId) ?? this.#startingBalance;
  }

  /** One credit for this (senderId, clientMessageId), once. */
  charge(senderId: string, clientMessageId: string): Charge {
    const charged = this.#charged.get(senderId) ?? new Set<string>();
    const balance = this.balance(senderId);
    if (charged.has(clientMessageId)) return { outcome: 'already_charged', balance };
    if (balance < 1) return { outcome: 'insufficient', balance: 0 };
    charged.add(clientMessageId);
    this.#charged.set(senderId, charged);
    this.#balances.set(senderId, balance - 1);
    return { outcome: 'charged', balance: balance - 1 };
  }

  /** Credits bought: what the app's backend would do when the user pays. */
  topUp(userId: string, credits: number): number {
    const balance = this.balance(userId) + credits;
    this.#balances.set(userId, balance);
    return balance;
  }
}
