/** What operations cost on AWS from counted figures, with their prices (bench/cost.ts). */
import { describe, expect, it } from 'vitest';
import {
  costPerConnectedUserMonth,
  costPerMillion,
  dynamoDbCost,
  MONTH_MINUTES,
  PRICE_SOURCES,
  PRICES,
  totalCost,
  workloads,
} from '../../../bench/cost.ts';
import type { OperationFigures } from '../../../bench/results.ts';

const figures = (wru: number, rru: number, postToConnection: number, snsPublish = 0): OperationFigures => ({
  wru,
  rru,
  requests: 9,
  postToConnection,
  snsPublish,
});
const OPERATIONS = {
  directMessageOnline: figures(8, 3.5, 2),
  directMessageOffline: figures(9, 4, 0, 1),
  groupMessage20: figures(62, 12, 38),
};

describe('cost of a million operations', () => {
  const priced = workloads(OPERATIONS);

  it('prices the counted units at the on-demand prices per million', () => {
    const lines = costPerMillion(priced.directMessageOnline);
    expect(dynamoDbCost(lines)).toBeCloseTo(
      8 * PRICES.dynamoWritePerMillion + 3.5 * PRICES.dynamoReadPerMillion,
    );
  });

  it('counts a WebSocket message for the frame in, its answer and every post', () => {
    const line = costPerMillion(priced.groupMessage20).find((l) => l.item.startsWith('API Gateway'));
    expect(line?.dollars).toBeCloseTo((2 + 38) * PRICES.webSocketMessagesPerMillion);
  });

  it('adds the push only where one was published', () => {
    const push = (name: keyof typeof OPERATIONS) =>
      costPerMillion(priced[name]).find((l) => l.item === 'SNS mobile push');
    expect(push('directMessageOffline')?.dollars).toBeCloseTo(PRICES.snsMobilePushPerMillion);
    expect(push('directMessageOnline')).toBeUndefined();
  });

  it('writes the price used next to every line, and every price has a source', () => {
    for (const line of costPerMillion(priced.directMessageOffline)) expect(line.price).toMatch(/^\$\d/);
    for (const [name, price] of Object.entries(PRICE_SOURCES)) {
      expect(price.usd).toBe(PRICES[name as keyof typeof PRICES]);
      expect(price.source).not.toBe('');
    }
  });

  it('refuses to price an operation that was not measured', () => {
    expect(() => workloads({})).toThrow('measured no directMessageOnline');
  });
});

describe('cost of a connected user per month', () => {
  it('bills every minute of the month and the keep-alive pings', () => {
    const lines = costPerConnectedUserMonth(figures(3, 1, 1), figures(2, 1, 1));
    expect(lines[0]?.dollars).toBeCloseTo(
      (MONTH_MINUTES / 1e6) * PRICES.webSocketConnectionMinutesPerMillion,
    );
    expect(totalCost(lines)).toBeGreaterThan(lines[0]?.dollars ?? 0);
    // 360 reconnects of 5 WRU and 2 RRU
    expect(dynamoDbCost(lines)).toBeCloseTo(
      (1800 / 1e6) * PRICES.dynamoWritePerMillion + (720 / 1e6) * PRICES.dynamoReadPerMillion,
    );
  });
});
