/**
 * (1.2) Reports end to end through the local stack: a WebSocket client reports a message it received
 * (and a retry of the same clientRequestId gets the same reportId), the sender deletes it, and the
 * operators' tool (`npm run admin -- reports|resolve --local URL`, as a child process) lists the report
 * open with the message as it was, resolves it once, and lists it resolved; with its exit codes for a
 * report that does not exist (1) and an id that cannot be one (2).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;
const ROOT = join(import.meta.dirname, '..', '..');

beforeAll(async () => {
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  await stack?.stop();
});

const socketUrl = (jwt: string) => `${stack.url}/?token=${jwt}&deviceId=phone`;

function admin(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['admin/admin.ts', ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : ((error as { code?: number }).code ?? null),
        out: stdout,
        err: stderr,
      });
    });
  });
}

type Listed = { reportId: string; status: string; messages: { seq: number; content: string }[] } & Record<
  string,
  unknown
>;

async function listed(status: 'open' | 'resolved'): Promise<Listed[]> {
  const result = await admin(
    'reports',
    '--status',
    status,
    '--local',
    stack.httpUrl,
    '--json',
    '--limit',
    '1000',
  );
  expect(result).toMatchObject({ code: 0, err: '' });
  return JSON.parse(result.out) as Listed[];
}

describe('reports through the local stack and the admin tool', () => {
  it('a client reports a message; the tool lists it open with the message as it was, resolves it, lists it resolved', async () => {
    // GIVEN noa's message to mia, on mia's phone
    const suffix = randomUUID().slice(0, 8);
    const [mia, noa] = [`mia-${suffix}`, `noa-${suffix}`];
    const miaPhone = await connect(socketUrl(await localToken(mia)));
    const noaPhone = await connect(socketUrl(await localToken(noa)));
    noaPhone.send({
      action: 'sendMessage',
      to: mia,
      clientMessageId: 'noa-1',
      content: 'send me your address\nnow',
    });
    const ack = await noaPhone.until((frame) => frame.type === 'ack');
    const received = await miaPhone.until((frame) => frame.type === 'message');
    expect(received).toMatchObject({ senderId: noa, seq: 1 });

    // WHEN mia reports it (and her app sends the frame again, as after a lost ack)
    const frame = {
      action: 'report',
      clientRequestId: 'mia-report-1',
      conversationId: received.conversationId,
      seq: received.seq,
      reason: 'harassment',
      note: 'asks for my address',
    };
    miaPhone.send(frame);
    const reportAck = await miaPhone.until((answer) => answer.type === 'ack' && answer.action === 'report');
    miaPhone.send(frame);
    const again = await miaPhone.until((answer) => answer.type === 'ack' && answer.action === 'report');

    // THEN both are acked with the one report id
    expect(reportAck).toEqual({
      type: 'ack',
      action: 'report',
      clientRequestId: 'mia-report-1',
      reportId: expect.stringMatching(/^rp_/),
    });
    expect(again).toEqual(reportAck);
    const reportId = String(reportAck.reportId);

    // WHEN noa deletes the message
    noaPhone.send({ action: 'deleteMessage', conversationId: ack.conversationId, seq: 1 });
    expect(await noaPhone.until((answer) => answer.action === 'deleteMessage')).toMatchObject({
      type: 'ack',
    });

    // THEN the tool lists the report open, once, with the message as it was
    const open = (await listed('open')).filter((item) => item.reportId === reportId);
    expect(open).toEqual([
      expect.objectContaining({
        reportId,
        reporterId: mia,
        conversationId: received.conversationId,
        seq: 1,
        reason: 'harassment',
        note: 'asks for my address',
        status: 'open',
        messageCount: 1,
        messages: [expect.objectContaining({ seq: 1, senderId: noa, content: 'send me your address\nnow' })],
      }),
    ]);
    // AND as a table: one line for it, the message quoted on one line
    const table = await admin('reports', '--local', stack.httpUrl, '--limit', '1000');
    expect(table.code).toBe(0);
    const line = table.out.split('\n').find((row) => row.includes(reportId));
    expect(line).toContain('harassment');
    expect(line).toContain(`seq 1, ${noa}: "send me your address\\nnow"`);
    expect(line).toContain('"asks for my address"');
    expect(table.out.split('\n')[0]).toMatch(/^REPORTED AT\s+REPORT\s+REASON\s+REPORTER\s+CONVERSATION/);

    // WHEN a moderator resolves it, twice
    const resolved = await admin(
      'resolve',
      reportId,
      '--note',
      'warned noa',
      '--by',
      'mod-1',
      '--local',
      stack.httpUrl,
    );
    const twice = await admin(
      'resolve',
      reportId,
      '--note',
      'other note',
      '--by',
      'mod-2',
      '--local',
      stack.httpUrl,
    );

    // THEN the first resolves it and the second leaves it as it was
    expect(resolved.code).toBe(0);
    expect(resolved.out).toMatch(
      new RegExp(
        `^resolve ${reportId}: resolved at \\S+Z by mod-1 \\(local stack at ${stack.httpUrl}\\)\\n$`,
      ),
    );
    expect(twice.code).toBe(0);
    expect(twice.out).toMatch(
      new RegExp(`^resolve ${reportId}: already resolved at \\S+Z by mod-1, left as it was`),
    );
    // AND it is listed resolved, with the first resolution, and no longer open
    expect((await listed('resolved')).filter((item) => item.reportId === reportId)).toEqual([
      expect.objectContaining({ status: 'resolved', resolvedBy: 'mod-1', resolutionNote: 'warned noa' }),
    ]);
    expect((await listed('open')).map((item) => item.reportId)).not.toContain(reportId);

    for (const client of [miaPhone, noaPhone]) client.socket.close();
    await Promise.all([miaPhone.closed, noaPhone.closed]);
  });

  it('refuses a non-member over the socket and stores nothing', async () => {
    const suffix = randomUUID().slice(0, 8);
    const [ola, pia, eve] = [`ola-${suffix}`, `pia-${suffix}`, `eve-${suffix}`];
    const olaPhone = await connect(socketUrl(await localToken(ola)));
    olaPhone.send({ action: 'sendMessage', to: pia, clientMessageId: 'ola-1', content: 'hi' });
    const { conversationId } = await olaPhone.until((frame) => frame.type === 'ack');
    const evePhone = await connect(socketUrl(await localToken(eve)));

    evePhone.send({ action: 'report', clientRequestId: 'eve-1', conversationId, reason: 'spam' });

    expect(await evePhone.until((frame) => frame.type === 'error')).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'not a member of this conversation',
      action: 'report',
      clientRequestId: 'eve-1',
    });
    expect((await listed('open')).filter((item) => item.reporterId === eve)).toEqual([]);
    for (const client of [olaPhone, evePhone]) client.socket.close();
    await Promise.all([olaPhone.closed, evePhone.closed]);
  });

  it('exits 1 for a report that does not exist and 2 for what cannot be a report id', async () => {
    const missing = await admin('resolve', `rp_${'A'.repeat(32)}`, '--local', stack.httpUrl);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no such report/);

    expect(await admin('resolve', 'REPORT#1', '--local', stack.httpUrl)).toMatchObject({
      code: 2,
      err: /not a report id/,
    });
    expect(await admin('reports', '--status', 'closed', '--local', stack.httpUrl)).toMatchObject({
      code: 2,
      err: /--status must be open or resolved/,
    });
  });

  it('answers 400 over HTTP for a status, limit, id or body it cannot take, and 404 for a missing report', async () => {
    const status = async (path: string, init?: RequestInit) =>
      (await fetch(`${stack.httpUrl}/_local/${path}`, init)).status;
    const post = (body: string) => ({
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json' },
    });
    const id = `rp_${'B'.repeat(32)}`;

    expect(await status('reports?status=closed')).toBe(400);
    expect(await status('reports?limit=0')).toBe(400);
    expect(await status('reports?limit=1001')).toBe(400);
    expect(await status('reports?limit=ten')).toBe(400);
    expect(await status('reports/REPORT%231/resolve', { method: 'POST' })).toBe(400);
    expect(await status(`reports/${id}/resolve`, post('not json'))).toBe(400);
    expect(await status(`reports/${id}/resolve`, post('{"note": 7}'))).toBe(400);
    expect(await status(`reports/${id}/resolve`, post(JSON.stringify({ note: 'x'.repeat(1001) })))).toBe(400);
    expect(await status(`reports/${id}/resolve`, post('{"note": "fine"}'))).toBe(404);
    expect(await status('reports?status=resolved&limit=1')).toBe(200);
  });
});
