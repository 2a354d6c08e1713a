// Package forecast predicts per-service resource demand with calibrated
// quantiles.
//
// It offers point-forecasting models behind one small interface (Model:
// fit on a history, forecast h steps, update online), a rolling-origin
// backtest that selects or combines models per series (Auto), split-conformal
// prediction intervals per horizon step fitted on out-of-sample errors and
// updated as actuals arrive (Calibrator), the M4 scorers (sMAPE, MASE, OWA),
// and a high-level online API (Online) used by the node agent and the
// simulator. It depends only on the standard library and gonum.
//
// See DESIGN.md in this directory for the shape and the promises.
package forecast
