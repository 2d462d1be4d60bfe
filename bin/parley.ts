/** The CDK app `cdk synth` / `cdk deploy` runs (cdk.json). Configuration: lib/config.ts, README.md (Deploy). */
import { App } from 'aws-cdk-lib';
import { buildParley } from '../lib/app.ts';

buildParley(new App());
