// deploy/systemd/wharf.service, checked by systemd's own tools (no systemd runs here to start it): every directive
// known to this systemd (a misspelt one is only warned about at load, so the warning is the failure), and the
// hardening it claims, as `systemd-analyze security` rates it.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot, tempDir } from '../support/processes.js';
import { run } from './support/exec.js';

test('the systemd unit loads without a warning and rates an exposure of 2.0 or less', async (t) => {
  const dir = await tempDir('systemd');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const unit = await readFile(join(projectRoot, 'deploy', 'systemd', 'wharf.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/opt\/wharf\/bin\/wharf serve --config \/etc\/wharf\/wharf\.yaml$/m, 'the path the README installs to');
  // verify also checks that the program exists: point it at one that does.
  const file = join(dir, 'wharf.service');
  await writeFile(file, unit.replace('/opt/wharf/bin/wharf', '/usr/bin/true'));
  const verify = await run('systemd-analyze', ['verify', file]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', 'no unknown or misplaced directive');
  const security = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', file]);
  const level = /Overall exposure level for wharf\.service: ([\d.]+)/.exec(security.stdout.toString());
  assert.ok(level, security.stdout.toString() + security.stderr);
  assert.ok(Number(level[1]) <= 2.0, `exposure ${level[1]}`);
});
