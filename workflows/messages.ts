// The sweep's and trial's messages, defined once so workflows and the CLI agree on names.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EvaluationReport, EvaluationVerdict, ProgressRequest, RerunRequest, SweepProgress, TrialOutcome } from './types.js';

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
