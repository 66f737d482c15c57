/**
 * Runs `work` on the items, at most `limit` at a time, in order. Once one result fails
 * (`failed`), no further item is started; those running finish. Items never started have no
 * result (`undefined`).
 */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
  failed: (result: R) => boolean,
): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array<R | undefined>(items.length).fill(undefined);
  let next = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop && next < items.length) {
      const index = next;
      next += 1;
      const result = await work(items[index]!, index);
      results[index] = result;
      if (failed(result)) stop = true;
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit), items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
