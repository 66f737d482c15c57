import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Logger, Redactor } from '@singer-ts/singer';

import { type DatasetArchive, openArchive } from './archive';
import type { TapKaggleConfig } from './config';
import { credentialSecrets, type CredentialSources, resolveCredentials } from './credentials';
import { formatBytes, KaggleClient } from './kaggle-client';

export interface DatasetSourceOptions {
  readonly config: TapKaggleConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Learns credentials read from files or the environment, so no output shows them. */
  readonly redactor?: Redactor;
  readonly credentialSources?: CredentialSources;
  readonly userAgent?: string;
}

/** What is recorded beside a cached download (`archive.json`). */
export interface CacheRecord {
  readonly dataset: string;
  readonly version: number | null;
  readonly etag: string | null;
  readonly size: number;
  readonly file_name: string | null;
  readonly content_type: string | null;
  readonly downloaded_at: string;
}

/**
 * Where the dataset's bytes come from, for one run: `archive_path`, a current download kept
 * in `cache_dir`, or a fresh download spooled to a temp folder (removed by `close()`). The
 * dataset version is asked of the API at most once and the archive opened at most once.
 */
export class DatasetSource {
  private versionPromise: Promise<number | undefined> | undefined;
  private archivePromise: Promise<DatasetArchive> | undefined;
  private clientPromise: Promise<KaggleClient> | undefined;
  private tempDir: string | undefined;

  constructor(private readonly options: DatasetSourceOptions) {}

  /** Whether the archive comes from `archive_path` rather than the API. */
  get isLocal(): boolean {
    return this.options.config.archivePath !== undefined;
  }

  /**
   * The dataset version this run reads: `dataset_version` when pinned, else the API's current
   * version; undefined for an unpinned `archive_path` or when the API does not tell.
   */
  resolveVersion(): Promise<number | undefined> {
    this.versionPromise ??= this.findVersion();
    return this.versionPromise;
  }

  /** Opens the dataset (downloading it, or reusing the cache, the first time). */
  open(): Promise<DatasetArchive> {
    this.archivePromise ??= this.openOnce();
    return this.archivePromise;
  }

  /** Releases the archive and removes the temp download. Safe to call more than once. */
  async close(): Promise<void> {
    const archive = this.archivePromise;
    this.archivePromise = undefined;
    if (archive) await archive.then((a) => a.close()).catch(() => undefined);
    if (this.tempDir) {
      await rm(this.tempDir, { recursive: true, force: true });
      this.tempDir = undefined;
    }
  }

  private async findVersion(): Promise<number | undefined> {
    const { config, logger } = this.options;
    if (config.datasetVersion !== undefined) return config.datasetVersion;
    if (this.isLocal) return undefined;
    const info = await (await this.client()).getDataset(config.dataset);
    if (info.currentVersionNumber === undefined) {
      logger.warn(`Kaggle did not say which version of ${config.dataset.ref} is current: cannot tell whether it changed since the last run`);
    } else {
      logger.info(`dataset ${config.dataset.ref} is at version ${info.currentVersionNumber}`);
    }
    return info.currentVersionNumber;
  }

  private client(): Promise<KaggleClient> {
    this.clientPromise ??= (async () => {
      const { config, logger, signal } = this.options;
      const resolved = await resolveCredentials(
        { username: config.username, key: config.key, apiToken: config.apiToken },
        this.options.credentialSources ?? { env: process.env, homeDir: homedir() },
      );
      for (const secret of credentialSecrets(resolved.credentials)) this.options.redactor?.add(secret);
      for (const warning of resolved.warnings) logger.warn(warning);
      const credentials = resolved.credentials;
      if (credentials) {
        const who = credentials.kind === 'basic' ? `HTTP Basic as ${credentials.username}` : 'a Bearer token';
        logger.info(`Kaggle credentials: ${who} from ${credentials.source}`);
      } else {
        logger.warn(`no Kaggle credentials found (looked at ${resolved.searched.join(', ')}): trying without`);
      }
      return new KaggleClient({
        baseUrl: config.apiBaseUrl,
        flavor: config.apiFlavor,
        credentials,
        searched: resolved.searched,
        logger,
        signal,
        retry: { maxRetries: config.maxRetries },
        userAgent: this.options.userAgent,
      });
    })();
    return this.clientPromise;
  }

  private async openOnce(): Promise<DatasetArchive> {
    const { config, logger } = this.options;
    if (config.archivePath !== undefined) {
      logger.info(`reading ${config.archivePath} instead of the Kaggle API`);
      return openArchive(config.archivePath, { tempDir: await this.temp() });
    }
    const version = await this.resolveVersion();
    if (config.cacheDir !== undefined) return this.openCached(config.cacheDir, version);
    const dir = await this.temp();
    const destination = join(dir, 'archive');
    logger.debug(`spooling the download to ${dir}`);
    const result = await (await this.client()).downloadDataset({ dataset: config.dataset, version, destination });
    const fileName = result.status === 'downloaded' ? result.fileName : undefined;
    return openArchive(destination, { tempDir: dir, singleFileName: singleFileName(fileName, config.dataset.slug) });
  }

  private async openCached(cacheDir: string, version: number | undefined): Promise<DatasetArchive> {
    const { config, logger } = this.options;
    const dir = join(cacheDir, config.dataset.owner, config.dataset.slug);
    const archivePath = join(dir, 'archive');
    const recordPath = join(dir, 'archive.json');
    await mkdir(dir, { recursive: true });
    const record = await readCacheRecord(recordPath, archivePath);
    const open = (r: CacheRecord): Promise<DatasetArchive> =>
      openArchive(archivePath, { tempDir: join(dir, 'tmp'), singleFileName: singleFileName(r.file_name ?? undefined, config.dataset.slug) });

    if (record && version !== undefined && record.version === version) {
      logger.info(`using the cached download of ${config.dataset.ref} version ${version} (${formatBytes(record.size)}) in ${dir}`);
      return open(record);
    }
    // Without a known version, the storage's ETag tells whether the cached copy is current.
    const ifNoneMatch = version === undefined && record?.etag ? record.etag : undefined;
    const part = join(dir, `archive.${process.pid}.part`);
    try {
      const result = await (await this.client()).downloadDataset({ dataset: config.dataset, version, destination: part, ifNoneMatch });
      if (result.status === 'not-modified' && record) {
        logger.info(`the cached download of ${config.dataset.ref} in ${dir} is current (ETag unchanged)`);
        return open(record);
      }
      if (result.status !== 'downloaded') throw new Error('unreachable: not-modified without a cached copy');
      const fresh: CacheRecord = {
        dataset: config.dataset.ref,
        version: version ?? null,
        etag: result.etag ?? null,
        size: result.bytes,
        file_name: result.fileName ?? null,
        content_type: result.contentType ?? null,
        downloaded_at: new Date().toISOString(),
      };
      // The record goes last: a crash in between leaves a size mismatch, hence a fresh download.
      await rm(recordPath, { force: true });
      await rename(part, archivePath);
      await writeFile(`${recordPath}.${process.pid}`, `${JSON.stringify(fresh, null, 2)}\n`);
      await rename(`${recordPath}.${process.pid}`, recordPath);
      logger.info(`kept the download of ${config.dataset.ref}${version !== undefined ? ` version ${version}` : ''} in ${dir}`);
      return open(fresh);
    } finally {
      await rm(part, { force: true });
    }
  }

  private async temp(): Promise<string> {
    this.tempDir ??= await mkdtemp(join(tmpdir(), 'tap-kaggle-'));
    return this.tempDir;
  }
}

/** The cache record, when it describes the archive beside it (same size); else undefined. */
async function readCacheRecord(recordPath: string, archivePath: string): Promise<CacheRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as CacheRecord;
    const size = (await stat(archivePath)).size;
    return typeof record.size === 'number' && record.size === size ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The name of a download that turns out to be a single file, not a zip: the served name
 * without `.zip` (`.csv` added when it has no extension), else `{slug}.csv`.
 */
function singleFileName(served: string | undefined, slug: string): string {
  const name = served?.replace(/\.zip$/i, '') || slug;
  return /\.[A-Za-z0-9]+$/.test(name) ? name : `${name}.csv`;
}
