#!/usr/bin/env node
'use strict';
// The launcher refuses an unsupported Node.js in one line and sets V8's young generation before
// the connector loads; see packages/singer/src/launcher.ts.
require('@singer-ts/singer/launcher').launch('tap-kaggle', () => require('../dist/cli').main());
