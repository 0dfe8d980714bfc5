// The sweep's and trial's messages, defined once so workflows and the CLI agree on names.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ProgressRequest, RerunRequest, SweepProgress, TrialOutcome } from './types.js';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const cancelSignal = defineSignal('cancel');
export const setConcurrencySignal = defineSignal<[number]>('setConcurrency');
export const rerunFailedSignal = defineSignal<[RerunRequest?]>('rerunFailed');
/** Sent by each trial workflow to its sweep (by workflow id, so it reaches the current run). */
export const trialFinishedSignal = defineSignal<[TrialOutcome]>('trialFinished');

/** Counts and axes over every trial, plus the page of trials asked for (default: the first PROGRESS_PAGE_MAX). */
export const progressQuery = defineQuery<SweepProgress, [ProgressRequest?]>('progress');
