/**
 * A worker thread of the sample generator: makes the geolocation file while the main thread
 * makes the others (see `writeSampleFiles` in sample-dataset.ts) and posts back what it wrote.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { type SampleWorkerData, writeGeolocationFile } from './sample-dataset';

void writeGeolocationFile(workerData as SampleWorkerData).then((written) => parentPort?.postMessage(written));
