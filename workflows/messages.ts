// The sweep's and trial's messages, defined once so workflows and the CLI agree on names.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Spec } from '../sweep-spec/index.js';
import type {
  EvaluationReport,
  EvaluationVerdict,
  ExtendRequest,
  ExtendResult,
  ProgressRequest,
  RerunRequest,
  SweepProgress,
  TrialOutcome,
} from './types.js';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const cancelSignal = defineSignal('cancel');
export const setConcurrencySignal = defineSignal<[number]>('setConcurrency');
export const rerunFailedSignal = defineSignal<[RerunRequest?]>('rerunFailed');
/** Sent by each trial workflow to its sweep (by workflow id, so it reaches the current run). */
export const trialFinishedSignal = defineSignal<[TrialOutcome]>('trialFinished');

/** Counts and axes over every trial, plus the page of trials asked for (default: the first PROGRESS_PAGE_MAX). */
export const progressQuery = defineQuery<SweepProgress, [ProgressRequest?]>('progress');

/**
 * Sent by a trial's activity after each evaluation when the sweep has early_stop: an
 * update, so the report is recorded in the sweep's history and the answer (go on, or stop
 * as pruned) comes back in the same call.
 */
export const reportEvaluationUpdate = defineUpdate<EvaluationVerdict, [EvaluationReport]>('reportEvaluation');

/** `mirl sweep extend` on a running sweep: more trials after the existing ones; refused (by the validator) unless the spec only adds. */
export const extendUpdate = defineUpdate<ExtendResult, [ExtendRequest]>('extend');

/** The spec the sweep was launched with, its profile, and the specs it was extended to. */
export interface SweepSpecs {
  spec: Spec;
  profile: string | null;
  extensions: Spec[];
}
export const specsQuery = defineQuery<SweepSpecs>('specs');
