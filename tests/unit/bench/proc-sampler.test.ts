import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cpuMsBetween,
  peakRssMb,
  peakRssOfPid,
  processTree,
  serviceTarget,
  startSampler,
} from '#scripts/bench/proc-sampler.ts';

/** Above the highest pid Linux can hand out (pid_max is at most 2^22): never a live process. */
const NO_SUCH_PID = 2 ** 22 + 1;

const children: ChildProcess[] = [];

/** A child process that keeps one core busy until killed, or for 20 s should the test die first. */
async function busyChild(): Promise<number> {
  const busy = 'const end = Date.now() + 20000; while (Date.now() < end);';
  const child = spawn(process.execPath, ['-e', busy], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve).once('error', reject);
  });
  if (child.pid === undefined) throw new Error('the busy child did not start');
  return child.pid;
}

async function kill(pid: number): Promise<void> {
  const child = children.find((c) => c.pid === pid);
  if (child?.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

afterEach(async () => {
  for (const child of children) if (child.pid !== undefined) await kill(child.pid);
  children.length = 0;
});

describe('processTree', () => {
  it('holds the root first and a child it spawned', async () => {
    const child = await busyChild();
    const tree = processTree(process.pid);
    expect(tree[0]).toBe(process.pid);
    expect(tree).toContain(child);
  });

  it('is empty for a process that does not exist', () => {
    expect(processTree(NO_SUCH_PID)).toEqual([]);
  });
});

describe('startSampler', () => {
  it("counts a busy child's CPU from zero and the resident memory of both processes", async () => {
    const child = await busyChild();
    const sampler = startSampler(
      [
        { name: 'child', pids: () => [child] },
        { name: 'self', pids: () => Promise.resolve([process.pid]) },
      ],
      { intervalMs: 100 },
    );
    await sleep(300);
    sampler.mark('halfway');
    await sleep(500);
    const result = await sampler.stop();

    expect(result.samples.length).toBeGreaterThanOrEqual(6);
    const [first] = result.samples;
    const last = result.samples.at(-1);
    if (first === undefined || last === undefined) throw new Error('no samples');
    // Both were running before the sampler: only what they use from then on counts.
    expect(first.cpuMs).toEqual({ child: 0, self: 0 });
    // The machine may be busy with other work: how much CPU the child gets is not ours to assert.
    expect(last.cpuMs['child']).toBeGreaterThan(0);
    expect(last.t).toBeGreaterThanOrEqual(0.8);
    for (const [i, sample] of result.samples.entries()) {
      expect(sample.rssMb['child'], `sample ${i}`).toBeGreaterThan(0);
      expect(sample.rssMb['self'], `sample ${i}`).toBeGreaterThan(0);
    }
    for (const [i, sample] of result.samples.slice(1).entries()) {
      const previous = result.samples[i] ?? first;
      expect(sample.t, `sample ${i + 1}`).toBeGreaterThan(previous.t);
      expect(sample.cpuMs['child'], `sample ${i + 1}`).toBeGreaterThanOrEqual(previous.cpuMs['child'] ?? 0);
    }

    const [halfway] = result.marks;
    expect(halfway?.label).toBe('halfway');
    const before = cpuMsBetween(result, 'child', 0, halfway?.t ?? 0);
    const after = cpuMsBetween(result, 'child', halfway?.t ?? 0, last.t);
    expect(before).toBeGreaterThan(0);
    expect(after).toBeGreaterThan(0);
    expect(Math.abs(before + after - (last.cpuMs['child'] ?? 0))).toBeLessThanOrEqual(1);
    expect(peakRssMb(result, 'self')).toBe(Math.max(...result.samples.map((s) => s.rssMb['self'] ?? 0)));
  });

  it('counts CPU time in ms as the process itself does', async () => {
    const sampler = startSampler([{ name: 'self', pids: () => [process.pid] }], { intervalMs: 50 });
    await sleep(20);
    const before = process.cpuUsage();
    for (const end = Date.now() + 300; Date.now() < end;);
    await sleep(100);
    const used = process.cpuUsage(before);
    const { samples } = await sampler.stop();
    const ownMs = (used.user + used.system) / 1000;
    // Clock ticks of 10 ms, and the few ms around the window that one side counts and the other not.
    expect(Math.abs((samples.at(-1)?.cpuMs['self'] ?? 0) - ownMs)).toBeLessThan(40);
  });

  it('skips a pid that does not exist, without failing', async () => {
    const sampler = startSampler([{ name: 'gone', pids: () => [NO_SUCH_PID] }], { intervalMs: 50 });
    await sleep(120);
    const { samples } = await sampler.stop();
    expect(samples.length).toBeGreaterThanOrEqual(2);
    for (const sample of samples) expect(sample).toMatchObject({ cpuMs: { gone: 0 }, rssMb: { gone: 0 } });
  });

  it('keeps the CPU a process used up to its last sample after it exits', async () => {
    const child = await busyChild();
    const sampler = startSampler([{ name: 'child', pids: () => [child] }], { intervalMs: 100 });
    await sleep(450);
    await kill(child);
    await sleep(250);
    const { samples } = await sampler.stop();
    const peak = Math.max(...samples.map((s) => s.cpuMs['child'] ?? 0));
    expect(peak).toBeGreaterThan(0);
    expect(samples.at(-1)?.cpuMs['child']).toBe(peak);
    expect(samples.at(-1)?.rssMb['child']).toBe(0);
  });

  it("follows a service's process tree through its pid", async () => {
    const child = await busyChild();
    const sampler = startSampler(
      [
        serviceTarget({ name: 'tree', pid: () => Promise.resolve(process.pid) }),
        { name: 'self', pids: () => [process.pid] },
      ],
      { intervalMs: 100 },
    );
    await sleep(450);
    const result = await sampler.stop();
    await kill(child);
    // The busy child is in the test process's tree: its memory and CPU count there too.
    for (const [i, sample] of result.samples.entries()) {
      expect(sample.rssMb['tree'], `sample ${i}`).toBeGreaterThan(sample.rssMb['self'] ?? 0);
    }
    const end = result.samples.at(-1)?.t ?? 0;
    expect(cpuMsBetween(result, 'tree', 0, end)).toBeGreaterThan(cpuMsBetween(result, 'self', 0, end));
  });

  it('rejects on stop when a target could not list its processes', async () => {
    const sampler = startSampler([{ name: 'broken', pids: () => Promise.reject(new Error('no pid file')) }]);
    await expect(sampler.stop()).rejects.toThrow('no pid file');
  });
});

describe('peakRssOfPid', () => {
  it("reads this process's peak resident memory", () => {
    expect(peakRssOfPid(process.pid)).toBeGreaterThan(10);
  });

  it('names the process that is gone', () => {
    expect(() => peakRssOfPid(NO_SUCH_PID)).toThrow(`process ${NO_SUCH_PID} is gone`);
  });
});
