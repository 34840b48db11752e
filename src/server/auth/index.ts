export { openUserStore } from './user-store.js';
export type { AuthPluginName, UserHost, UserOptions, UserRecord, UserStore, UserStoreOptions } from './user-store.js';
export {
  checkNativeScramble,
  checkSha2Scramble,
  nativeScramble,
  nativeStage2,
  sha2Scramble,
  xorBytes,
} from './password-hash.js';
