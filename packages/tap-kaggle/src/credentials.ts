import { constants as fsConstants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { ConfigError } from '@singer-ts/singer';

/** How requests to the Kaggle API authenticate. */
export type KaggleCredentials =
  | { readonly kind: 'basic'; readonly username: string; readonly key: string; readonly source: string }
  | { readonly kind: 'bearer'; readonly token: string; readonly source: string };

/** The credential keys of the tap's config. */
export interface CredentialConfig {
  readonly username?: string;
  readonly key?: string;
  readonly apiToken?: string;
}

/** Where credentials are looked for besides the config; injectable for tests. */
export interface CredentialSources {
  readonly env: NodeJS.ProcessEnv;
  readonly homeDir: string;
}

/** The outcome: the credentials found (if any), every place looked at, and any warnings. */
export interface ResolvedCredentials {
  readonly credentials: KaggleCredentials | undefined;
  readonly searched: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Resolves credentials as the official `kaggle` CLI does, with the tap's own config first:
 *
 * 1. config `api_token` (Bearer; the token, or a file holding it), else config `username` + `key` (Basic);
 * 2. `KAGGLE_API_TOKEN`: the token itself, or the path of a file holding it (Bearer);
 * 3. `KAGGLE_USERNAME` / `KAGGLE_KEY`, each overriding the same field of `kaggle.json` (Basic);
 * 4. `kaggle.json` in `$KAGGLE_CONFIG_DIR`, else `~/.kaggle`, else `$XDG_CONFIG_HOME/kaggle`
 *    (`~/.config/kaggle`) (Basic);
 * 5. `access_token` in `$KAGGLE_CONFIG_DIR` or `~/.kaggle` (Bearer).
 *
 * NOTE: the CLI tries an access token before a legacy key (kaggle-api `authenticate()`), so an
 * environment token wins over `kaggle.json`; values a user wrote into the tap's config win
 * over anything ambient.
 */
export async function resolveCredentials(
  config: CredentialConfig,
  sources: CredentialSources = { env: process.env, homeDir: homedir() },
): Promise<ResolvedCredentials> {
  const searched: string[] = [];
  const warnings: string[] = [];
  const found = (credentials: KaggleCredentials): ResolvedCredentials => ({ credentials, searched, warnings });
  const { env } = sources;

  searched.push('config api_token');
  if (nonEmpty(config.apiToken)) {
    // Meltano passes KAGGLE_API_TOKEN through as api_token, so it may name a file too.
    const fromFile = await readTokenFile(config.apiToken.trim());
    if (fromFile !== undefined) return found({ kind: 'bearer', token: fromFile, source: `config api_token (file ${config.apiToken.trim()})` });
    return found({ kind: 'bearer', token: config.apiToken.trim(), source: 'config api_token' });
  }
  searched.push('config username/key');
  if (nonEmpty(config.username) && nonEmpty(config.key)) {
    return found({ kind: 'basic', username: config.username, key: config.key, source: 'config username/key' });
  }
  if (nonEmpty(config.username) !== nonEmpty(config.key)) {
    throw new ConfigError('config sets only one of "username" and "key"', {
      hint: 'Set both (HTTP Basic credentials from kaggle.json), or neither',
    });
  }

  searched.push('KAGGLE_API_TOKEN');
  const envToken = env.KAGGLE_API_TOKEN;
  if (nonEmpty(envToken)) {
    const fromFile = await readTokenFile(envToken.trim());
    if (fromFile !== undefined) {
      return found({ kind: 'bearer', token: fromFile, source: `KAGGLE_API_TOKEN (file ${envToken.trim()})` });
    }
    return found({ kind: 'bearer', token: envToken.trim(), source: 'KAGGLE_API_TOKEN' });
  }

  const configDirs = kaggleConfigDirs(sources);
  const jsonPath = await firstExisting(configDirs.map((dir) => join(dir, 'kaggle.json')));
  searched.push('KAGGLE_USERNAME/KAGGLE_KEY', ...configDirs.map((dir) => join(dir, 'kaggle.json')));
  const fileValues = jsonPath ? await readKaggleJson(jsonPath, warnings) : {};
  const username = nonEmpty(env.KAGGLE_USERNAME) ? env.KAGGLE_USERNAME : fileValues.username;
  const key = nonEmpty(env.KAGGLE_KEY) ? env.KAGGLE_KEY : fileValues.key;
  if (nonEmpty(username) && nonEmpty(key)) {
    const parts = [
      nonEmpty(env.KAGGLE_USERNAME) ? 'KAGGLE_USERNAME' : jsonPath,
      nonEmpty(env.KAGGLE_KEY) ? 'KAGGLE_KEY' : jsonPath,
    ];
    return found({ kind: 'basic', username, key, source: [...new Set(parts)].join(' + ') });
  }
  if (nonEmpty(username) !== nonEmpty(key)) {
    warnings.push(
      `found a Kaggle ${nonEmpty(username) ? 'username' : 'key'} without a ${nonEmpty(username) ? 'key' : 'username'}` +
        `${jsonPath ? ` (${jsonPath} and the environment)` : ' in the environment'}: ignored`,
    );
  }

  const tokenDirs = [...new Set([env.KAGGLE_CONFIG_DIR, join(sources.homeDir, '.kaggle')].filter(nonEmpty))];
  for (const dir of tokenDirs) {
    const path = join(dir, 'access_token');
    searched.push(path);
    const token = await readTokenFile(path);
    if (token !== undefined) return found({ kind: 'bearer', token, source: path });
  }
  return { credentials: undefined, searched, warnings };
}

/** The `Authorization` header value for these credentials. */
export function authorizationHeader(credentials: KaggleCredentials): string {
  if (credentials.kind === 'bearer') return `Bearer ${credentials.token}`;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.key}`).toString('base64')}`;
}

/** The secret part of the credentials, for the redactor. */
export function credentialSecrets(credentials: KaggleCredentials | undefined): string[] {
  if (!credentials) return [];
  if (credentials.kind === 'bearer') return [credentials.token];
  return [credentials.key, Buffer.from(`${credentials.username}:${credentials.key}`).toString('base64')];
}

/** `$KAGGLE_CONFIG_DIR` when set, then `~/.kaggle`, then `$XDG_CONFIG_HOME/kaggle` (`~/.config/kaggle`). */
export function kaggleConfigDirs(sources: CredentialSources): string[] {
  const xdg = nonEmpty(sources.env.XDG_CONFIG_HOME) ? sources.env.XDG_CONFIG_HOME : join(sources.homeDir, '.config');
  const dirs = [sources.env.KAGGLE_CONFIG_DIR, join(sources.homeDir, '.kaggle'), join(xdg, 'kaggle')];
  return [...new Set(dirs.filter(nonEmpty))];
}

function nonEmpty(value: string | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path, fsConstants.F_OK);
      return path;
    } catch {
      // next location
    }
  }
  return undefined;
}

/** A token file's trimmed content, or undefined when there is no such file (or it is empty). */
async function readTokenFile(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return undefined;
  } catch {
    return undefined;
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError('the Kaggle access token file cannot be read', { file: path, cause });
  }
  const token = text.trim();
  return token === '' ? undefined : token;
}

async function readKaggleJson(path: string, warnings: string[]): Promise<{ username?: string; key?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError('kaggle.json cannot be read', { file: path, cause });
  }
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (cause) {
    throw new ConfigError('kaggle.json is not valid JSON', {
      file: path,
      cause,
      hint: 'It should hold {"username": "...", "key": "..."} as downloaded from your Kaggle account page',
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('kaggle.json must hold a JSON object with "username" and "key"', { file: path });
  }
  const { username, key } = parsed as Record<string, unknown>;
  if (process.platform !== 'win32') {
    const mode = (await stat(path)).mode;
    // NOTE: the CLI warns likewise (kaggle-api read_config_file): the key is a password.
    if (mode & 0o044) warnings.push(`${path} is readable by other users; run chmod 600 ${path}`);
  }
  return {
    ...(typeof username === 'string' ? { username } : {}),
    ...(typeof key === 'string' ? { key } : {}),
  };
}
