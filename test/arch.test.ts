import {expect, test} from 'vitest'
import {emulationEnvironment, hostArchitecture} from '../src/arch.js'

test.runIf(hostArchitecture().debian === 'amd64')('a foreign arm64 tree runs its programs on the ARMv8.0 CPU Debian builds for; the host\'s own and other emulated trees get nothing', () => {
  expect(emulationEnvironment('arm64')).toEqual({QEMU_CPU: 'cortex-a72'})
  expect(emulationEnvironment('amd64')).toEqual({})
  expect(emulationEnvironment('armhf')).toEqual({})
})
