import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// `docker run` end to end through the real CLI: output, exit codes, the process's view of
// itself (PID 1, its own /proc, hostname, user), the rootfs and Docker's security defaults.
describe('docker run', () => {
  const daemon = useDaemon({ image: 'oci' });
  const run = (args: string[], input?: string) =>
    daemon().docker(['run', '--rm', '--network', 'none', ...args], input === undefined ? {} : { input });

  it('streams stdout and stderr and exits with the container\'s code', async () => {
    const r = await run([TEST_IMAGE, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect((await daemon().docker(['ps', '-aq'])).stdout).toBe(''); // --rm removed it
  });

  it('reports 128+N for a PID 1 killed by signal N, and ignores unhandled signals sent to PID 1 from inside', async () => {
    // A handler-less PID 1 ignores signals from its own namespace (as under Docker)...
    const ignored = await run([TEST_IMAGE, 'sh', '-c', 'kill -USR1 $$; echo survived']);
    expect(ignored.stdout).toBe('survived\n');
    // ...but a signal it handles by default from outside ends it with 128+N.
    const d = await daemon().docker(['run', '-d', '--network', 'none', TEST_IMAGE, 'sleep', '300']);
    const id = d.stdout.trim();
    await daemon().docker(['kill', '-s', 'KILL', id]);
    expect((await daemon().docker(['wait', id])).stdout.trim()).toBe(String(128 + 9));
    await daemon().docker(['rm', id]);
  });

  it('runs the command as PID 1 in its own pid, uts and mount namespaces', async () => {
    const r = await run(['-h', 'berthbox', TEST_IMAGE, 'sh', '-c', 'echo $$; hostname; ls /proc | grep -c "^[0-9]"; cat /proc/1/cmdline | tr "\\0" " "']);
    expect(r.code, r.stderr).toBe(0);
    const [pid, host, procs, cmdline] = r.stdout.trim().split('\n');
    expect(pid).toBe('1');
    expect(host).toBe('berthbox');
    expect(Number(procs)).toBeLessThanOrEqual(4); // sh, ls, grep (and maybe cat): none of the host's
    expect(cmdline).toMatch(/^sh -c/);
  });

  it('applies -e, --env-file, -w, -u and the image\'s PATH', async () => {
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'berth-envfile-'));
    try {
      writeFileSync(join(dir, 'env'), 'FROM_FILE=yes\n# comment\n');
      const r = await run(['-e', 'GREETING=hello world', '--env-file', join(dir, 'env'), '-w', '/tmp', '-u', 'berth', TEST_IMAGE, 'sh', '-c', 'echo "$GREETING|$FROM_FILE|$(pwd)|$(id -u):$(id -g)|$HOME|$PATH"']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('hello world|yes|/tmp|1000:1000|/home/berth|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const numeric = await run(['-u', '4321:99', TEST_IMAGE, 'id']);
    expect(numeric.stdout).toMatch(/uid=4321 gid=99/);
    const unknown = await run(['-u', 'nosuchuser', TEST_IMAGE, 'true']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unable to find user nosuchuser/);
  });

  it('creates a missing working directory and honours --entrypoint', async () => {
    const r = await run(['-w', '/made/for/you', TEST_IMAGE, 'pwd']);
    expect(r.stdout).toBe('/made/for/you\n');
    const e = await run(['--entrypoint', 'echo', TEST_IMAGE, 'via', 'entrypoint']);
    expect(e.stdout).toBe('via entrypoint\n');
  });

  it('passes stdin with -i and ends input on EOF', async () => {
    const r = await run(['-i', TEST_IMAGE, 'sh', '-c', 'tr a-z A-Z; echo done'], 'shout\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('SHOUT\ndone\n');
  });

  it('gives each container its own writable layer and never changes the image', async () => {
    const a = await daemon().docker(['run', '--name', 'writer-a', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo a > /etc/who; rm /bin/ls; cat /etc/who']);
    expect(a.stdout).toBe('a\n');
    const b = await run([TEST_IMAGE, 'sh', '-c', 'cat /etc/who 2>&1; ls / >/dev/null && echo ls-ok']);
    expect(b.stdout).toMatch(/No such file/);
    expect(b.stdout).toMatch(/ls-ok/);
    // The stopped container keeps its files until it is removed.
    const again = await daemon().docker(['start', '-a', 'writer-a']);
    expect(again.stdout).toBe('a\n');
    expect((await daemon().docker(['rm', 'writer-a'])).code).toBe(0);
  });

  it('makes the rootfs read-only with --read-only, and /sys always', async () => {
    const r = await run(['--read-only', TEST_IMAGE, 'sh', '-c', 'touch /x 2>&1; touch /sys/x 2>&1; echo end']);
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout.match(/Read-only file system/g)).toHaveLength(2);
    const rw = await run([TEST_IMAGE, 'sh', '-c', 'touch /x && echo wrote']);
    expect(rw.stdout).toBe('wrote\n');
  });

  it('masks Docker\'s /proc paths and keeps only the 14 default capabilities', async () => {
    const r = await run([TEST_IMAGE, 'sh', '-c', 'wc -c < /proc/timer_list; grep CapEff /proc/self/status; (echo 1 > /proc/sys/kernel/domainname) 2>&1 || true; mount | grep -c " /dev/pts \\| /dev/shm \\| /dev/mqueue "']);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]?.trim()).toBe('0');
    expect(lines[1]).toMatch(/CapEff:\s+00000000a80425fb/);
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(lines.at(-1)).toBe('3');
    const dropped = await run(['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', TEST_IMAGE, 'grep', 'CapEff', '/proc/self/status']);
    expect(dropped.stdout).toMatch(/CapEff:\s+0000000000001000/);
    const nonRoot = await run(['-u', 'berth', TEST_IMAGE, 'grep', 'CapEff', '/proc/self/status']);
    expect(nonRoot.stdout).toMatch(/CapEff:\s+0000000000000000/);
  });

  it('applies the default seccomp filter unless unconfined or privileged, and refuses custom profiles', async () => {
    const filtered = await run([TEST_IMAGE, 'sh', '-c', 'grep Seccomp: /proc/self/status; unshare -U true 2>&1; echo rc=$?']);
    expect(filtered.stdout).toMatch(/Seccomp:\s+2/);
    expect(filtered.stdout).toMatch(/Operation not permitted/);
    const unconfined = await run(['--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'grep', 'Seccomp:', '/proc/self/status']);
    expect(unconfined.stdout).toMatch(/Seccomp:\s+0/);
    const privileged = await run(['--privileged', TEST_IMAGE, 'grep', 'Seccomp:', '/proc/self/status']);
    expect(privileged.stdout).toMatch(/Seccomp:\s+0/);
    // The CLI reads a profile file itself and sends its content; berthd refuses any custom one.
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
    try {
      writeFileSync(join(dir, 'profile.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW' }));
      const custom = await run(['--security-opt', `seccomp=${join(dir, 'profile.json')}`, TEST_IMAGE, 'true']);
      expect(custom.code).not.toBe(0);
      expect(custom.stderr).toMatch(/custom seccomp profiles are not supported yet/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a container its own network namespace with only loopback, or the host\'s with --network host', async () => {
    const own = await daemon().docker(['run', '--rm', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/flags']);
    expect(own.stdout.split('\n').filter(Boolean)).toEqual(['lo', '0x9']); // IFF_UP | IFF_LOOPBACK
    // The default network adds eth0 (network.test.ts covers it).
    const bridged = await daemon().docker(['run', '--rm', TEST_IMAGE, 'ls', '/sys/class/net']);
    expect(bridged.stdout.split('\n').filter(Boolean)).toEqual(['eth0', 'lo']);
    const host = await daemon().docker(['run', '--rm', '--network', 'host', TEST_IMAGE, 'ls', '/sys/class/net']);
    expect(host.stdout.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(1);
  });

  it('fails a missing command with Docker\'s message and exit code 127', async () => {
    const r = await run([TEST_IMAGE, 'no-such-command']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/exec: "no-such-command": executable file not found in \$PATH/);
    expect((await daemon().docker(['ps', '-aq'])).stdout).toBe('');
  });
});
