package api

import (
	"context"
	"maps"
	"math"
	"net/http"
	"slices"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// putUsage stores a node's usage report for one epoch (PUT /v1/usage).
// Like PUT /v1/bids: a bid token may report only its own service.
func (s *Server) putUsage(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var rep fsm.UsageReport
	if err := decodeBody(r, &rep); err != nil {
		return err
	}
	if err := checkUsageScope(r.Context(), rep); err != nil {
		return err
	}
	if err := fsm.ValidateUsageReport(&rep); err != nil {
		return badRequest("%v", err)
	}
	return s.write(w, r, body, func(ctx context.Context) (any, error) {
		if err := s.fsm().ValidateUsage(rep); err != nil {
			return nil, badRequest("%v", err)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdReportUsage, fsm.ReportUsage{Report: rep})
		return map[string]any{"index": idx, "services": len(rep.Services)}, err
	})
}

// checkUsageScope refuses, for a bid token, a report naming another service.
func checkUsageScope(ctx context.Context, rep fsm.UsageReport) error {
	bids := make([]bidding.Bid, len(rep.Services))
	for i, su := range rep.Services {
		bids[i] = bidding.Bid{Service: su.Service}
	}
	return checkBidScope(ctx, bids)
}

// ForecastPoint is one epoch of one placement and resource: what was used
// and what the bid in force said (the quantiles are absent when there was
// no live bid for that epoch).
type ForecastPoint struct {
	Epoch  uint64 `json:"epoch"`
	Actual int64  `json:"actual"`
	P50    *int64 `json:"p50,omitempty"`
	P90    *int64 `json:"p90,omitempty"`
	P99    *int64 `json:"p99,omitempty"`
}

// ForecastSummary scores the forecasts of the points that have one.
// MAE is the mean absolute error of p50 in base units; MASE divides it by
// the mean absolute change of the actuals from one reported epoch to the
// next (the error of the naive "same as last epoch" forecast over the same
// window; 0 when the actuals never changed). Coverage is the fraction of
// actuals at or below p90 and p99.
type ForecastSummary struct {
	Epochs      int     `json:"epochs"`    // points with an actual
	Forecasts   int     `json:"forecasts"` // of which had a forecast
	CoverageP90 float64 `json:"coverage_p90"`
	CoverageP99 float64 `json:"coverage_p99"`
	MAE         float64 `json:"mae"`
	MASE        float64 `json:"mase"`
}

// ForecastResource is one resource of one placement.
type ForecastResource struct {
	Points  []ForecastPoint `json:"points"`
	Summary ForecastSummary `json:"summary"`
}

// ForecastNode is one placement of the service.
type ForecastNode struct {
	Node      string                      `json:"node"`
	Resources map[string]ForecastResource `json:"resources"`
}

// ForecastView is the answer of GET /v1/forecast/{service}.
type ForecastView struct {
	Service string         `json:"service"`
	Nodes   []ForecastNode `json:"nodes"`
}

func (s *Server) getForecast(w http.ResponseWriter, r *http.Request) error {
	if done, err := s.consistent(w, r); done || err != nil {
		return err
	}
	name := r.PathValue("service")
	if _, ok := s.fsm().Service(name); !ok {
		return notFound("service %q is not registered", name)
	}
	return writeJSON(w, http.StatusOK, BuildForecastView(name, s.fsm().Usage(name)))
}

// BuildForecastView pairs each reported actual with its forecast, per node
// and resource, and scores them.
func BuildForecastView(service string, usage map[string][]fsm.UsagePair) ForecastView {
	v := ForecastView{Service: service, Nodes: []ForecastNode{}}
	for _, node := range slices.Sorted(maps.Keys(usage)) {
		n := ForecastNode{Node: node, Resources: map[string]ForecastResource{}}
		for _, p := range usage[node] {
			for res, actual := range p.Actual {
				pt := ForecastPoint{Epoch: p.Epoch, Actual: actual}
				if q, ok := p.Forecast[res]; ok {
					pt.P50, pt.P90, pt.P99 = &q.P50, &q.P90, &q.P99
				}
				fr := n.Resources[res]
				fr.Points = append(fr.Points, pt)
				n.Resources[res] = fr
			}
		}
		for res, fr := range n.Resources {
			fr.Summary = summarize(fr.Points)
			n.Resources[res] = fr
		}
		v.Nodes = append(v.Nodes, n)
	}
	return v
}

func summarize(pts []ForecastPoint) ForecastSummary {
	sum := ForecastSummary{Epochs: len(pts)}
	var absErr, naive float64
	var in90, in99, changes int
	for i, p := range pts {
		if i > 0 {
			naive += math.Abs(float64(p.Actual - pts[i-1].Actual))
			changes++
		}
		if p.P50 == nil {
			continue
		}
		sum.Forecasts++
		absErr += math.Abs(float64(p.Actual - *p.P50))
		if p.Actual <= *p.P90 {
			in90++
		}
		if p.Actual <= *p.P99 {
			in99++
		}
	}
	if sum.Forecasts > 0 {
		n := float64(sum.Forecasts)
		sum.MAE = absErr / n
		sum.CoverageP90 = float64(in90) / n
		sum.CoverageP99 = float64(in99) / n
		if changes > 0 && naive > 0 {
			sum.MASE = sum.MAE / (naive / float64(changes))
		}
	}
	return sum
}
