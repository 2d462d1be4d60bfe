/**
 * Unit tests: handler modules read their configuration at import time, so it is set here, before any
 * test file imports them. No test reaches a network: every AWS client is mocked per file.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach } from 'vitest';
import { knownDirectConversations } from '../../functions/adapters/known-conversations.ts';

process.env.AWS_REGION = 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.TABLE_NAME = 'parley-test';
process.env.ATTACHMENTS_BUCKET = 'parley-attachments-test';
process.env.WS_CALLBACK_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/test';
process.env.PUSH_APP_ARN_APNS = 'arn:aws:sns:eu-west-1:123456789012:app/APNS/parley';
process.env.PUSH_APP_ARN_APNS_SANDBOX = 'arn:aws:sns:eu-west-1:123456789012:app/APNS_SANDBOX/parley';
process.env.PUSH_APP_ARN_FCM = 'arn:aws:sns:eu-west-1:123456789012:app/GCM/parley';
process.env.JWT_SECRET = 'unit-test-secret-that-is-long-enough-for-hs256';
process.env.LOG_LEVEL = 'error';
process.env.DELIVERY_FAILURE_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:parley-delivery-failures';

// A warm container remembers direct conversations (known-conversations.ts); each case starts cold.
beforeEach(() => knownDirectConversations.clear());
