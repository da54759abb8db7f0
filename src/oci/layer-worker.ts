import {parentPort} from 'node:worker_threads'
import {AptOstreeError} from '../errors.js'
import {writeLayer, type LayerJob, type WorkerFailure} from './layers.js'

// A layer-writing thread: takes a LayerJob, answers with the blob's
// descriptor or with what went wrong.
parentPort!.on('message', async (job: LayerJob) => {
  try {
    parentPort!.postMessage({layer: await writeLayer(job)})
  } catch (error) {
    const failure = error as NodeJS.ErrnoException
    const reply: WorkerFailure = {message: failure.message, name: failure.name, code: failure.code, path: failure.path, syscall: failure.syscall}
    if (error instanceof AptOstreeError) Object.assign(reply, {exitCode: error.exitCode, details: error.details})
    parentPort!.postMessage({failure: reply})
  }
})
