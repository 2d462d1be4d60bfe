/** Where the token is found in a `$connect` request, on API Gateway-shaped events. */
import { describe, expect, it } from 'vitest';
import { findToken, queryParameter } from '../../../functions/authorizer/token-source.ts';
import { connectEvent } from './events.ts';

describe('findToken', () => {
  it('finds nothing in a request without a token', () => {
    expect(findToken(connectEvent())).toBeUndefined();
  });

  it('finds nothing when API Gateway sends null maps', () => {
    const event = connectEvent();
    event.headers = null;
    event.multiValueHeaders = null;
    event.queryStringParameters = null;
    event.multiValueQueryStringParameters = null;

    expect(findToken(event)).toBeUndefined();
  });

  it('takes the token query parameter', () => {
    expect(findToken(connectEvent({ query: { token: 'q.q.q' } }))).toEqual({
      token: 'q.q.q',
      source: 'query',
    });
  });

  it('ignores an empty token query parameter', () => {
    const event = connectEvent({ query: { token: '' }, headers: { Authorization: 'Bearer h.h.h' } });

    expect(findToken(event)).toEqual({ token: 'h.h.h', source: 'header' });
  });

  it('reads the multi-value query map when the single-value map lacks the parameter', () => {
    const event = connectEvent();
    event.multiValueQueryStringParameters = { token: ['first.t.t', 'last.t.t'] };

    expect(findToken(event)).toEqual({ token: 'last.t.t', source: 'query' });
  });

  it.each([
    ['Authorization', 'Bearer h.h.h'],
    ['authorization', 'bearer h.h.h'],
    ['AUTHORIZATION', 'BEARER   h.h.h'],
  ])('takes a Bearer token from %s: %s', (name, value) => {
    expect(findToken(connectEvent({ headers: { [name]: value } }))).toEqual({
      token: 'h.h.h',
      source: 'header',
    });
  });

  it.each([
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer ',
    'Bearer a b',
    'Bearerh.h.h',
  ])('takes no token from Authorization: %s', (value) => {
    expect(findToken(connectEvent({ headers: { Authorization: value } }))).toBeUndefined();
  });

  it.each([
    ['one header line', 'parley, s.s.s', 's.s.s'],
    ['no space after the comma', 'parley,s.s.s', 's.s.s'],
    ['another subprotocol first', 'chat.v2, parley, s.s.s', 's.s.s'],
    ['header lines', ['parley', 's.s.s'], 's.s.s'],
  ])('takes the entry after "parley" in the subprotocol list: %s', (_case, value, token) => {
    const event = connectEvent({ headers: { 'Sec-WebSocket-Protocol': value } });

    expect(findToken(event)).toEqual({ token, source: 'subprotocol' });
  });

  it('reads the single-value header map when there is no multi-value map', () => {
    const event = connectEvent({ headers: { 'sec-websocket-protocol': 'parley, s.s.s' } });
    event.multiValueHeaders = null;

    expect(findToken(event)).toEqual({ token: 's.s.s', source: 'subprotocol' });
  });

  it.each([
    'parley',
    'parley, ',
    'chat, s.s.s',
    's.s.s, parley',
  ])('takes no token from subprotocols %j', (value) => {
    expect(findToken(connectEvent({ headers: { 'Sec-WebSocket-Protocol': value } }))).toBeUndefined();
  });

  it('prefers the query over the header over the subprotocol', () => {
    const all = { 'Sec-WebSocket-Protocol': 'parley, s.s.s', Authorization: 'Bearer h.h.h' };

    expect(findToken(connectEvent({ query: { token: 'q.q.q' }, headers: all }))).toMatchObject({
      source: 'query',
    });
    expect(findToken(connectEvent({ headers: all }))).toMatchObject({ source: 'header' });
  });
});

describe('queryParameter', () => {
  it('returns the value, or undefined when absent', () => {
    const event = connectEvent({ query: { deviceId: 'phone-1' } });

    expect(queryParameter(event, 'deviceId')).toBe('phone-1');
    expect(queryParameter(event, 'other')).toBeUndefined();
  });
});
