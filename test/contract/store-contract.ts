/**
 * The Store contract: one suite every Store adapter must pass (memory, SQLite, PostgreSQL).
 * Each test gets a fresh store from `makeStore` and cleans it up; tests use unique names and ids, so a factory
 * may hand out stores over one shared database.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import type { Store } from '../../src/core/ports.js';
import { accountContract } from './store-contract-accounts.js';
import { messageContract } from './store-contract-messages.js';
import { roomContract } from './store-contract-rooms.js';
import { securityContract } from './store-contract-security.js';

export interface StoreUnderTest {
  store: Store;
  cleanup: () => Promise<void>;
}

/** Gives each test the store under test. */
export type StoreGetter = () => Store;

export function runStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let current: StoreUnderTest | undefined;
    beforeEach(async () => {
      current = await makeStore();
    });
    afterEach(async () => {
      const done = current;
      current = undefined;
      await done?.cleanup();
    });
    const store: StoreGetter = () => {
      if (!current) throw new Error('No store: use it inside a test.');
      return current.store;
    };
    messageContract(store);
    roomContract(store);
    accountContract(store);
    securityContract(store);
  });
}
