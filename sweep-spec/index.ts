// The spec layer's public surface. Pure modules only: loadSpecFile lives in ./load.js
// so that Temporal workflow code can import this file (its sandbox has no node:fs).
export * from './schema.js';
export * from './errors.js';
export { parseSpec, parseSpecData, DEFAULT_SPEC_FILE } from './parse.js';
export {
  expandSpec,
  settingText,
  trialAt,
  trialSource,
  countTrials,
  runNameOf,
  PointNotSampledError,
  type Trial,
  type TrialSource,
  type ExpandOptions,
} from './expand.js';
export { planSpec, pointOf, fillSearchPoint, type Plan, type Dimension, type AxisValues } from './plan.js';
export {
  describeSpec,
  renderValidateText,
  type SpecDescription,
  type AxisDescription,
  type ProfileSummary,
} from './describe.js';
export { canonicalJson, makeLaunchToken, makeSweepId, makeTrialId, TRIAL_ID_PREFIX } from './trial-id.js';
export { specJsonSchema, renderSpecJsonSchema } from './json-schema.js';
export {
  MAX_SPEC_FILE_BYTES,
  MAX_WORKFLOW_INPUT_BYTES,
  formatBytes,
  jsonByteLength,
  checkWorkflowInputSize,
  specFileTooLarge,
} from './limits.js';
