// Failures that retrying cannot fix. The orchestration layer marks these non-retryable.

export class TrialConfigError extends Error {
  override name = 'TrialConfigError';
}

export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
  constructor(
    readonly step: number,
    readonly quantity: string,
    readonly value: number,
  ) {
    super(`${quantity} became ${value} at step ${step}`);
  }
}
