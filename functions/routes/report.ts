import { report } from '../domain/report.ts';
import { reportFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('report', reportFrame, ({ frame, caller }) =>
  report({ ...frame, caller, now: new Date() }),
);
