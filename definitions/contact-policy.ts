/**
 * (1.2) Who may talk to whom, a deployment setting (protocol.md, "Who may talk to whom"): `open`, anyone
 * may start a direct conversation with any user id; `requests`, a direct conversation someone starts is
 * a request for the other user until they answer or accept it, and groups are made only of accepted
 * contacts. (`backend`, only the app's backend creates conversations, comes with the server API.)
 * Its names and default, described once: the handlers (functions/shared/config.ts), the CDK stack
 * (lib/config.ts) and the local stack (`npm start -- --contact-policy`) read them from here.
 */
export const CONTACT_POLICIES = ['open', 'requests'] as const;
export type ContactPolicy = (typeof CONTACT_POLICIES)[number];

export const CONTACT_POLICY_SETTING = {
  env: 'CONTACT_POLICY',
  context: 'contactPolicy',
  flag: 'contact-policy',
  default: 'open',
} as const satisfies { env: string; context: string; flag: string; default: ContactPolicy };

export const isContactPolicy = (value: unknown): value is ContactPolicy =>
  (CONTACT_POLICIES as readonly unknown[]).includes(value);
