import { performance } from 'node:perf_hooks';

interface Phase {
  name: string;
  /** Seconds since the process started (`performance.timeOrigin`). */
  start: number;
  end?: number;
  note?: string;
}

const now = (): number => performance.now() / 1000;

/**
 * When each phase of a run began and ended, in seconds since the process started, so that
 * phases that overlap (servers starting while the sample is made) show as they ran.
 */
export class PhaseClock {
  private readonly phases: Phase[] = [];

  constructor() {
    // Node.js starting and loading the runner's modules, up to the first phase.
    this.phases.push({ name: 'runner start-up', start: 0, end: now() });
  }

  /** Times `work` (already started) under `name`; resolves or rejects as it does. */
  async time<T>(name: string, work: Promise<T>): Promise<T> {
    const phase: Phase = { name, start: now() };
    this.phases.push(phase);
    try {
      return await work;
    } finally {
      phase.end = now();
    }
  }

  /** Adds a word to a phase's line (`reused`). */
  note(name: string, note: string): void {
    const phase = this.phases.find((p) => p.name === name);
    if (phase) phase.note = note;
  }

  /** One line per phase: `  PostgreSQL start     0.21 →  1.93   1.72 s`, then the total. */
  lines(): string[] {
    const width = Math.max(...this.phases.map((p) => p.name.length));
    const s = (seconds: number): string => seconds.toFixed(2).padStart(6);
    const lines = this.phases.map((p) => {
      const end = p.end ?? now();
      return `  ${p.name.padEnd(width)} ${s(p.start)} → ${s(end)} ${s(end - p.start)} s${p.note ? ` (${p.note})` : ''}`;
    });
    return ['time per phase (seconds since start: begin → end, duration):', ...lines, `  ${'total'.padEnd(width)} ${s(0)} → ${s(now())} ${s(now())} s`];
  }
}
