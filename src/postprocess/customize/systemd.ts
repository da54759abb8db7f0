import type {TreeStep} from '../step.js'
import {failureAt, originOf} from '../../treefile/index.js'

const UNIT_DIRS = ['/usr/lib/systemd/system', '/etc/systemd/system', '/lib/systemd/system']

/**
 * `units`: enabled with the tree's own `systemctl enable`, offline, so each
 * unit's [Install] section (WantedBy, Also) is honoured as Debian users expect.
 */
export const enableUnits: TreeStep = {
  name: 'units',
  async run(context) {
    const units = context.resolved.treefile.units ?? []
    for (const [index, unit] of units.entries()) {
      const template = unit.replace(/@[^.]+\./, '@.')
      const found = (await Promise.all(UNIT_DIRS.flatMap((dir) => [context.tree.exists(`${dir}/${unit}`), context.tree.exists(`${dir}/${template}`)]))).some(Boolean)
      if (!found) {
        const origin = originOf(context.resolved, 'units', index)
        throw failureAt(origin, `unit ${unit} is not in the tree (no package installs it)`)
      }
    }
    if (units.length === 0) return
    context.progress(`systemctl enable ${units.join(' ')}`)
    await context.sandbox.runInTree(context.root, ['systemctl', 'enable', '--no-reload', ...units], {log: context.log, signal: context.signal, label: 'systemctl enable'})
  },
}

/** `default-target`: the link lives in /usr, and an /etc override would shadow it. */
export const setDefaultTarget: TreeStep = {
  name: 'default-target',
  async run(context) {
    const target = context.resolved.treefile['default-target']
    if (!target) return
    if (!(await context.tree.exists(`/usr/lib/systemd/system/${target}`))) {
      const origin = originOf(context.resolved, 'default-target')
      throw failureAt(origin, `default-target ${target} is not in the tree`)
    }
    await context.tree.symlink('/usr/lib/systemd/system/default.target', target)
    await context.tree.remove('/etc/systemd/system/default.target')
  },
}
