import { PartBufferPool } from '../../src/part-buffer-pool';

describe('the part buffer pool', () => {
  it('hands back the buffers it was given before making new ones', () => {
    const pool = new PartBufferPool(1024, 2);
    const a = pool.take();
    const b = pool.take();
    expect(a).not.toBe(b);
    expect(a.length).toBe(1024);
    pool.give(a);
    expect(pool.take()).toBe(a);
    expect(pool.take()).not.toBe(b);
  });

  it('keeps no more spares than it was told to, and none of another size', () => {
    const pool = new PartBufferPool(1024, 1);
    const a = pool.take();
    const b = pool.take();
    pool.give(Buffer.alloc(2048));
    pool.give(a);
    pool.give(b);
    expect(pool.take()).toBe(a);
    const next = pool.take();
    expect(next).not.toBe(b);
    expect(next.length).toBe(1024);
  });
});
