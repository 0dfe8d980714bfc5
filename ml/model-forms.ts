// Which forms each model of the registries has beyond its eager one, as plain data (no
// TensorFlow.js), so the CLI and spec validation can ask before anything loads. The
// registries (ml/encoders.ts, ml/critics.ts) are typed against this table: an entry whose
// stacked form is listed here must hold one and an entry without must hold null, so adding
// a model without deciding its forms is a type error, never a silent fall-through.
// Every model has a graph form (ml/graph/), required by the registries' types.
import { CRITICS, ENCODERS } from './config.js';

type EncoderName = (typeof ENCODERS)[number];
type CriticName = (typeof CRITICS)[number];

interface Forms {
  /** Trains as a seed stack (ml/seed-stack.ts), or why not. */
  stacked: true | string;
}

export const ENCODER_FORMS = {
  identity: { stacked: 'an encoder without parameters gains nothing from stacking' },
  mlp: { stacked: true },
  'mlp-shortcut': { stacked: 'not written: the MLP stack measured 0.94-1.01x a lone seed on CPU' },
  convnet: { stacked: 'not written: batched convolutions over a seed axis' },
  realnvp: { stacked: 'not written: per-seed permutations' },
} as const satisfies Record<EncoderName, Forms>;

export const CRITIC_FORMS = {
  inner: { stacked: true },
  bilinear: { stacked: true },
  separable: { stacked: true },
  concat: { stacked: 'its pair tensor, S x K x K x h, would hold every seed at once' },
} as const satisfies Record<CriticName, Forms>;

/** Whether model `K` of a forms table has a stacked form: the registries' types read this. */
export type HasStacked<T extends Record<string, Forms>, K extends keyof T> = T[K]['stacked'] extends true
  ? true
  : false;

export const STACKABLE_ENCODERS = ENCODERS.filter((e) => ENCODER_FORMS[e].stacked === true);
export const STACKABLE_CRITICS = CRITICS.filter((c) => CRITIC_FORMS[c].stacked === true);
