// The workflow bundle's entry: every workflow type a mirl worker registers.
export { sweepWorkflow } from './sweep.js';
export { trialWorkflow } from './trial.js';
