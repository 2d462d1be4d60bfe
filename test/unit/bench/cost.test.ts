/** The cost of a million messages from counted units, with its prices (bench/cost.ts). */
import { describe, expect, it } from 'vitest';
import { costPerMillionMessages, dynamoDbCost, PRICES, totalCost } from '../../../bench/cost.ts';

describe('cost of one million 1:1 messages', () => {
  it('prices the counted units at the on-demand prices per million', () => {
    const lines = costPerMillionMessages(6, 3.5);
    expect(dynamoDbCost(lines)).toBeCloseTo(
      6 * PRICES.dynamoWritePerMillion + 3.5 * PRICES.dynamoReadPerMillion,
    );
  });

  it('writes the price used next to every line', () => {
    for (const line of costPerMillionMessages(6, 3.5)) expect(line.price).toMatch(/^\$\d/);
  });

  it('adds Lambda and WebSocket messages to the DynamoDB cost', () => {
    const lines = costPerMillionMessages(6, 3.5);
    expect(totalCost(lines)).toBeGreaterThan(dynamoDbCost(lines));
  });
});
