/**
 * Imported first by the `npm start` and `npm run db` entry points, before any dependency loads:
 * on an unsupported Node.js, one line and exit status 1 instead of whatever a dependency would
 * throw; otherwise the compile cache is on for the modules that load next, as the executables
 * have it.
 */
import { basename } from 'node:path';

import { enableCompileCache, unsupportedNodeMessage } from '@singer-ts/singer/launcher';

const event = process.env.npm_lifecycle_event;
const command = event === undefined ? basename(process.argv[1] ?? 'this script') : event === 'start' ? 'npm start' : `npm run ${event}`;
const message = unsupportedNodeMessage(command);
if (message !== undefined) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
enableCompileCache();
