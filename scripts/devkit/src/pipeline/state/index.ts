import { fileBackendDir, parseStateBackendUri, type StateBackend } from './backend';
import { FileStateBackend } from './file-backend';
import { PostgresStateBackend } from './postgres-backend';
import { S3StateBackend } from './s3-backend';

export type { StateBackend, StateBackendKind } from './backend';
export { checkStateId, parseStateBackendUri, redactUri, StateBackendError } from './backend';
export { FileStateBackend } from './file-backend';
export { PostgresStateBackend } from './postgres-backend';
export { S3StateBackend } from './s3-backend';

/**
 * Opens the state backend of a URI, as Meltano's `state_backend.uri` spells them:
 * `file:///dir` (or a plain path), `s3://bucket/prefix`, `postgresql://…/database/schema`.
 * `env` holds what the URI leaves out: S3's endpoint and keys (`AWS_ENDPOINT_URL_S3`,
 * `AWS_ACCESS_KEY_ID`, …) and PostgreSQL's `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
 * `PGDATABASE`.
 */
export async function openStateBackend(uri: string, env: NodeJS.ProcessEnv): Promise<StateBackend> {
  const parsed = parseStateBackendUri(uri);
  switch (parsed.kind) {
    case 'file':
      return new FileStateBackend(fileBackendDir(parsed.url));
    case 's3':
      return S3StateBackend.fromUrl(parsed.url, env);
    case 'postgresql':
      return PostgresStateBackend.open(parsed.url, env);
  }
}
