package client

import (
	"context"
	"math"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/forecast"
)

// Warm-up from an imported usage history (`allot usage import`, GET
// /v1/usage/history/{service}?node=N): a forecaster created for a service
// that is measured (not replayed) is fed the history of (service, this
// node) before its first observation, resampled onto its grid (the epoch).

// histories memoises, for one epoch, each service's imported history
// (nil: none, or it could not be read).
type histories map[string]*api.UsageHistory

// importedHistory reads service's imported history for this node, once
// per epoch. A 404 or a failed read means no warm-up (debug log): the loop
// goes on.
func (c *Client) importedHistory(ctx context.Context, service string) *api.UsageHistory {
	if h, ok := c.hist[service]; ok {
		return h
	}
	if c.hist == nil {
		c.hist = histories{}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h, err := c.api.UsageHistory(cctx, service, c.cfg.Node)
	if err != nil {
		if api.IsNotFound(err) {
			c.log.Debug("no imported usage history", "service", service)
		} else {
			c.log.Debug("cannot read the imported usage history; starting without it", "service", service, "error", err)
		}
		c.hist[service] = nil
		return nil
	}
	c.hist[service] = &h
	return &h
}

// warm feeds a new forecaster m of (service, res) with the imported
// history before its first observation at first. It returns the points fed.
func (c *Client) warm(ctx context.Context, m *forecast.Online, service, res string, epoch time.Duration, first time.Time) int {
	h := c.importedHistory(ctx, service)
	if h == nil || len(h.Points[res]) == 0 {
		return 0
	}
	pts := resample(h.Points[res], h.Interval(), epoch, first)
	for _, p := range pts {
		m.Observe(p.T, p.V)
	}
	if len(pts) > 0 {
		c.log.Info("forecaster warmed with the imported usage history", "service", service, "resource", res,
			"points", len(pts), "history_interval", h.Interval(), "epoch", epoch)
	}
	return len(pts)
}

// resample lays a history of interval iv onto a forecaster's grid of
// epoch, before its first observation at first:
//   - iv equals the epoch (within 1%): the points as they are, those at
//     least half an epoch before first (the forecaster fills a gap up to
//     first by interpolation, and drops a history older than its longest
//     gap);
//   - the epoch is at least 1.5 × iv: the means of consecutive groups of
//     round(epoch/iv) points, grouped from the newest (a partial oldest
//     group is dropped), each at its newest point's time, filtered alike;
//   - otherwise (the epoch is shorter than iv: time compressed, one trace
//     step replayed per epoch, as in a live experiment): one point per
//     epoch, laid out on the epoch grid ending one epoch before first.
func resample(pts []api.HistoryPoint, iv, epoch time.Duration, first time.Time) []api.HistoryPoint {
	if len(pts) == 0 || iv <= 0 || epoch <= 0 {
		return nil
	}
	before := func(in []api.HistoryPoint) []api.HistoryPoint {
		out := in[:0:0]
		for _, p := range in {
			if p.T.Before(first.Add(-epoch / 2)) {
				out = append(out, p)
			}
		}
		return out
	}
	ratio := float64(epoch) / float64(iv)
	switch {
	case math.Abs(ratio-1) <= 0.01:
		return before(pts)
	case ratio >= 1.5:
		k := int(math.Round(ratio))
		var out []api.HistoryPoint
		for end := len(pts); end-k >= 0; end -= k {
			var sum float64
			for _, p := range pts[end-k : end] {
				sum += p.V
			}
			out = append(out, api.HistoryPoint{T: pts[end-1].T, V: sum / float64(k)})
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return before(out)
	default:
		out := make([]api.HistoryPoint, len(pts))
		for i, p := range pts {
			out[i] = api.HistoryPoint{T: first.Add(-time.Duration(len(pts)-i) * epoch), V: p.V}
		}
		return out
	}
}
