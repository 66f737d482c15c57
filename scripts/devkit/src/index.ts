export type { PostgresService, S3Service, StartPostgresOptions, StartS3Options } from './local-services';
export { freePort, startPostgres, startS3 } from './local-services';
