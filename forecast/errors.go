package forecast

import "errors"

// Errors returned for unusable input. They are wrapped with context; test
// with errors.Is.
var (
	// ErrEmpty means the series has no observations.
	ErrEmpty = errors.New("forecast: empty series")
	// ErrNoFinite means every observation is NaN or infinite.
	ErrNoFinite = errors.New("forecast: no finite observations")
	// ErrTooShort means the series is too short for the requested model.
	ErrTooShort = errors.New("forecast: series too short")
	// ErrTooLarge means an observation exceeds MaxAbsValue.
	ErrTooLarge = errors.New("forecast: observation too large")
	// ErrNotFitted means Forecast or Update was called before a successful Fit.
	ErrNotFitted = errors.New("forecast: model not fitted")
	// ErrBadConfig means a configuration value is out of range.
	ErrBadConfig = errors.New("forecast: bad configuration")
	// ErrUnknownModel means the model name is not registered.
	ErrUnknownModel = errors.New("forecast: unknown model")
)

// MaxAbsValue is the largest magnitude accepted for an observation. Larger
// values are rejected (batch API) or dropped and counted (Online), so that
// squares and sums used by the models cannot overflow.
const MaxAbsValue = 1e15
