import { ConfigError, type State, type StateFile, stringifyExactJson } from '@singer-ts/singer';

/**
 * `--merge-states`: the states of several units (files) as one state. A unit's state holds
 * only its own stream's bookmark, so the states never overlap and the merge is their union;
 * a stream found in two states with different bookmarks is refused rather than guessed.
 */
export function mergeFileStates(states: readonly StateFile[]): State {
  const bookmarks: Record<string, unknown> = {};
  const from = new Map<string, string>();
  for (const { file, state } of states) {
    for (const [stream, bookmark] of Object.entries(state.bookmarks ?? {})) {
      const earlier = from.get(stream);
      if (earlier !== undefined && stringifyExactJson(bookmarks[stream]) !== stringifyExactJson(bookmark)) {
        throw new ConfigError(`holds a bookmark of stream ${JSON.stringify(stream)} other than the one in ${earlier}`, {
          code: 'STATE_UNIT_MISMATCH',
          file,
          stream,
          hint: "Pass each unit's last state once",
        });
      }
      bookmarks[stream] = bookmark;
      from.set(stream, file);
    }
  }
  return { bookmarks };
}
