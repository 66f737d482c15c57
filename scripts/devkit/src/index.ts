export type { InjectedFailure, KaggleStandIn, KaggleStandInOptions, StandInDataset, StandInRequest, ZipSource } from './kaggle-stand-in';
export { startKaggleStandIn } from './kaggle-stand-in';
export type { PostgresService, S3Service, StartPostgresOptions, StartS3Options } from './local-services';
export { freePort, startPostgres, startS3 } from './local-services';
export type { KaggleZip, SampleCounts, SampleFile, SampleOptions, SampleResult } from './sample-dataset';
export { generateSample, OLIST_FILES, OLIST_HEADERS, OLIST_ROW_COUNTS, PIPELINE_FILES, sampleCounts, writeKaggleZip } from './sample-dataset';
