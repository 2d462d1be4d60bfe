/**
 * Who may use `@connections` and `/_local/`: this machine always (the handlers call the management
 * API over 127.0.0.1), other machines only with the admin key.
 */
import { describe, expect, it } from 'vitest';
import { adminAccess, isLoopbackAddress, isLoopbackHost } from '../../../local/http/admin-access.ts';

const KEY = 'k3y-for-tests-0123456789';

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.9.8.7', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (a) => {
    expect(isLoopbackAddress(a)).toBe(true);
  });

  it.each([
    '10.0.0.2',
    '192.168.1.20',
    '::ffff:192.168.1.20',
    'fe80::1',
    '::',
    '0.0.0.0',
    '1::1',
    '',
    'localhost',
  ])('%s is not', (a) => {
    expect(isLoopbackAddress(a)).toBe(false);
  });

  it('treats an unknown address as not loopback', () => {
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    '127.0.0.1',
    'localhost',
    'LOCALHOST',
    '::1',
    '[::1]',
  ])('%s keeps the stack on this machine', (h) => {
    expect(isLoopbackHost(h)).toBe(true);
  });

  it.each(['0.0.0.0', '::', '192.168.1.20', 'my-laptop.lan'])('%s exposes it', (h) => {
    expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('adminAccess', () => {
  it('lets loopback requests through without a key, as the handlers make them', () => {
    expect(adminAccess('127.0.0.1', {}, KEY)).toBe('local');
    expect(adminAccess('::1', {}, undefined)).toBe('local');
    expect(adminAccess('::ffff:127.0.0.1', { authorization: 'Bearer wrong' }, KEY)).toBe('local');
  });

  it('asks other machines for the key', () => {
    expect(adminAccess('192.168.1.20', {}, KEY)).toBe('missing');
    expect(adminAccess('192.168.1.20', { authorization: 'Basic abc' }, KEY)).toBe('missing');
    expect(adminAccess(undefined, {}, KEY)).toBe('missing');
  });

  it('accepts the key as a Bearer token or in x-parley-admin-key', () => {
    expect(adminAccess('192.168.1.20', { authorization: `Bearer ${KEY}` }, KEY)).toBe('key');
    expect(adminAccess('192.168.1.20', { authorization: `bearer  ${KEY} ` }, KEY)).toBe('key');
    expect(adminAccess('10.0.0.2', { 'x-parley-admin-key': KEY }, KEY)).toBe('key');
  });

  it('refuses a wrong key, a prefix of the key, and any key when none is configured', () => {
    expect(adminAccess('10.0.0.2', { 'x-parley-admin-key': 'nope' }, KEY)).toBe('wrong');
    expect(adminAccess('10.0.0.2', { authorization: `Bearer ${KEY.slice(0, -1)}` }, KEY)).toBe('wrong');
    expect(adminAccess('10.0.0.2', { authorization: `Bearer ${KEY}x` }, KEY)).toBe('wrong');
    expect(adminAccess('10.0.0.2', { authorization: `Bearer ${KEY}` }, undefined)).toBe('wrong');
    expect(adminAccess('10.0.0.2', { authorization: 'Bearer ' }, '')).toBe('missing');
  });
});
