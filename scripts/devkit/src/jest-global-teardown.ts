import { globalTeardown } from './jest-global-setup';

export default globalTeardown;
