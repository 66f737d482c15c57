import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError } from '@singer-ts/singer';

import { authorizationHeader, kaggleConfigDirs, resolveCredentials } from '../../src/credentials';

describe('Kaggle credentials resolution', () => {
  let home: string;

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'tap-kaggle-home-'));
  });

  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  async function writeKaggleJson(dir: string, content: unknown): Promise<string> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'kaggle.json');
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    await chmod(path, 0o600);
    return path;
  }

  it('takes the config api_token first, as a Bearer token', async () => {
    const { credentials } = await resolveCredentials(
      { apiToken: 'KGAT_cfg', username: 'u', key: 'k' },
      { env: { KAGGLE_API_TOKEN: 'KGAT_env' }, homeDir: home },
    );
    expect(credentials).toEqual({ kind: 'bearer', token: 'KGAT_cfg', source: 'config api_token' });
  });

  it('reads a config api_token that names a file, as Meltano passes KAGGLE_API_TOKEN through', async () => {
    const path = join(home, 'token');
    await writeFile(path, 'KGAT_in_file\n');
    const { credentials } = await resolveCredentials({ apiToken: path }, { env: {}, homeDir: home });
    expect(credentials).toMatchObject({ kind: 'bearer', token: 'KGAT_in_file' });
  });

  it('takes config username and key before anything in the environment', async () => {
    const { credentials } = await resolveCredentials(
      { username: 'alice', key: 'k1' },
      { env: { KAGGLE_API_TOKEN: 'KGAT_env', KAGGLE_USERNAME: 'bob', KAGGLE_KEY: 'k2' }, homeDir: home },
    );
    expect(credentials).toMatchObject({ kind: 'basic', username: 'alice', key: 'k1' });
  });

  it('refuses a config with a username but no key', async () => {
    await expect(resolveCredentials({ username: 'alice' }, { env: {}, homeDir: home })).rejects.toBeInstanceOf(ConfigError);
  });

  it('reads KAGGLE_API_TOKEN as the token itself', async () => {
    const { credentials } = await resolveCredentials({}, { env: { KAGGLE_API_TOKEN: 'KGAT_abc' }, homeDir: home });
    expect(credentials).toEqual({ kind: 'bearer', token: 'KGAT_abc', source: 'KAGGLE_API_TOKEN' });
  });

  it('reads KAGGLE_API_TOKEN as the path of a file holding the token', async () => {
    const path = join(home, 'token.txt');
    await writeFile(path, '  KGAT_from_file\n');
    const { credentials } = await resolveCredentials({}, { env: { KAGGLE_API_TOKEN: path }, homeDir: home });
    expect(credentials).toMatchObject({ kind: 'bearer', token: 'KGAT_from_file' });
  });

  it('prefers an environment token to KAGGLE_USERNAME/KAGGLE_KEY, as the official CLI does', async () => {
    const { credentials } = await resolveCredentials(
      {},
      { env: { KAGGLE_API_TOKEN: 'KGAT_env', KAGGLE_USERNAME: 'bob', KAGGLE_KEY: 'k2' }, homeDir: home },
    );
    expect(credentials?.kind).toBe('bearer');
  });

  it('takes KAGGLE_USERNAME and KAGGLE_KEY over kaggle.json', async () => {
    await writeKaggleJson(join(home, '.kaggle'), { username: 'file-user', key: 'file-key' });
    const { credentials } = await resolveCredentials({}, { env: { KAGGLE_USERNAME: 'bob', KAGGLE_KEY: 'k2' }, homeDir: home });
    expect(credentials).toEqual({ kind: 'basic', username: 'bob', key: 'k2', source: 'KAGGLE_USERNAME + KAGGLE_KEY' });
  });

  it('lets KAGGLE_KEY override only the key of kaggle.json', async () => {
    const path = await writeKaggleJson(join(home, '.kaggle'), { username: 'file-user', key: 'file-key' });
    const { credentials } = await resolveCredentials({}, { env: { KAGGLE_KEY: 'env-key' }, homeDir: home });
    expect(credentials).toEqual({ kind: 'basic', username: 'file-user', key: 'env-key', source: `${path} + KAGGLE_KEY` });
  });

  it('reads kaggle.json from KAGGLE_CONFIG_DIR before ~/.kaggle', async () => {
    const configDir = join(home, 'elsewhere');
    await writeKaggleJson(configDir, { username: 'dir-user', key: 'dir-key' });
    await writeKaggleJson(join(home, '.kaggle'), { username: 'home-user', key: 'home-key' });
    const { credentials } = await resolveCredentials({}, { env: { KAGGLE_CONFIG_DIR: configDir }, homeDir: home });
    expect(credentials).toMatchObject({ username: 'dir-user', source: join(configDir, 'kaggle.json') });
  });

  it('falls back to ~/.kaggle/kaggle.json when KAGGLE_CONFIG_DIR has none', async () => {
    await writeKaggleJson(join(home, '.kaggle'), { username: 'home-user', key: 'home-key' });
    const { credentials } = await resolveCredentials({}, { env: { KAGGLE_CONFIG_DIR: join(home, 'empty') }, homeDir: home });
    expect(credentials).toMatchObject({ username: 'home-user' });
  });

  it('falls back to ~/.config/kaggle/kaggle.json', async () => {
    await writeKaggleJson(join(home, '.config', 'kaggle'), { username: 'xdg-user', key: 'xdg-key' });
    const { credentials } = await resolveCredentials({}, { env: {}, homeDir: home });
    expect(credentials).toMatchObject({ username: 'xdg-user', key: 'xdg-key' });
  });

  it('honours XDG_CONFIG_HOME for the kaggle config folder', async () => {
    expect(kaggleConfigDirs({ env: { XDG_CONFIG_HOME: '/xdg' }, homeDir: '/h' })).toEqual(['/h/.kaggle', '/xdg/kaggle']);
  });

  it('reads ~/.kaggle/access_token last', async () => {
    await mkdir(join(home, '.kaggle'), { recursive: true });
    await writeFile(join(home, '.kaggle', 'access_token'), 'KGAT_file\n');
    const { credentials } = await resolveCredentials({}, { env: {}, homeDir: home });
    expect(credentials).toEqual({ kind: 'bearer', token: 'KGAT_file', source: join(home, '.kaggle', 'access_token') });
  });

  it('prefers kaggle.json to the access_token file', async () => {
    await writeKaggleJson(join(home, '.kaggle'), { username: 'home-user', key: 'home-key' });
    await writeFile(join(home, '.kaggle', 'access_token'), 'KGAT_file\n');
    const { credentials } = await resolveCredentials({}, { env: {}, homeDir: home });
    expect(credentials?.kind).toBe('basic');
  });

  it('finds nothing and says where it looked', async () => {
    const result = await resolveCredentials({}, { env: {}, homeDir: home });
    expect(result.credentials).toBeUndefined();
    expect(result.searched).toEqual(
      expect.arrayContaining(['KAGGLE_API_TOKEN', join(home, '.kaggle', 'kaggle.json'), join(home, '.kaggle', 'access_token')]),
    );
  });

  it('names kaggle.json when it is not JSON', async () => {
    const path = await writeKaggleJson(join(home, '.kaggle'), '{"username": ');
    await expect(resolveCredentials({}, { env: {}, homeDir: home })).rejects.toMatchObject({ file: path });
  });

  it('warns when kaggle.json is readable by other users', async () => {
    const path = await writeKaggleJson(join(home, '.kaggle'), { username: 'u', key: 'k' });
    await chmod(path, 0o644);
    const { warnings } = await resolveCredentials({}, { env: {}, homeDir: home });
    expect(warnings.join('\n')).toContain('chmod 600');
  });

  it('builds Basic and Bearer Authorization headers', () => {
    expect(authorizationHeader({ kind: 'basic', username: 'alice', key: 's3cret', source: '' })).toBe(
      `Basic ${Buffer.from('alice:s3cret').toString('base64')}`,
    );
    expect(authorizationHeader({ kind: 'bearer', token: 'KGAT_x', source: '' })).toBe('Bearer KGAT_x');
  });
});
