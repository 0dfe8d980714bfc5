// Keyword search attributes: `MirlSweep="<id>"` finds a sweep with all its trials in the UI.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const MIRL_SWEEP = defineSearchAttributeKey('MirlSweep', SearchAttributeType.KEYWORD);
export const MIRL_STUDY = defineSearchAttributeKey('MirlStudy', SearchAttributeType.KEYWORD);
