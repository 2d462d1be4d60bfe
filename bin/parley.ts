/** The CDK app `cdk synth` / `cdk deploy` runs (cdk.json). Configuration: lib/config.ts, docs/deploy.md. */
import { App } from 'aws-cdk-lib';
import { buildParley } from '../lib/app.ts';

buildParley(new App());
