package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
)

// Report is the --json document.
type Report struct {
	Scenario string         `json:"scenario"`
	Services int            `json:"services"`
	Nodes    int            `json:"nodes"`
	Days     float64        `json:"days"`
	Epoch    string         `json:"epoch"`
	Breaches int            `json:"breaches"`
	Results  []ReportLevel  `json:"results"`
	Series   []ReportSeries `json:"series,omitempty"`
	Seconds  float64        `json:"seconds"`
}

// ReportLevel is every policy at one contention level.
type ReportLevel struct {
	Contention float64        `json:"contention"`
	Policies   []ReportPolicy `json:"policies"`
}

// ReportPolicy is one policy's metrics.
type ReportPolicy struct {
	Name string `json:"name"`
	Metrics
}

// ReportSeries says which real series a service replays.
type ReportSeries struct {
	Service string            `json:"service"`
	Class   string            `json:"class"`
	Node    string            `json:"node"`
	Series  map[string]string `json:"series"`
	Models  map[string]string `json:"models,omitempty"`
}

// NewReport summarises a result.
func NewReport(res *Result, contention []float64, policies []string) *Report {
	w := res.World
	rep := &Report{Scenario: w.Name, Services: len(w.Svcs), Nodes: len(w.Nodes), Days: float64(w.Steps) * w.Epoch.Hours() / 24, Epoch: w.Epoch.String(), Breaches: len(w.Breaches)}
	for ci, c := range contention {
		lv := ReportLevel{Contention: c}
		for pi := range policies {
			r := res.Runs[ci*len(policies)+pi]
			lv.Policies = append(lv.Policies, ReportPolicy{Name: r.Policy, Metrics: r.Metrics})
		}
		rep.Results = append(rep.Results, lv)
	}
	for s, sv := range w.Svcs {
		rs := ReportSeries{Service: sv.Def.Name, Class: string(sv.Def.Class), Node: w.Nodes[sv.Node], Series: map[string]string{}, Models: map[string]string{}}
		for r := range nr {
			if sv.Has[r] {
				name := resName(r)
				rs.Series[name] = sv.Label[r]
				if res.Forecasts != nil {
					rs.Models[name] = res.Forecasts.Model[s][r]
				}
			}
		}
		rep.Series = append(rep.Series, rs)
	}
	return rep
}

// WriteJSON writes the report as one indented JSON document.
func (rep *Report) WriteJSON(out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("writing json report: %w", err)
	}
	return nil
}

// WriteTable writes the human-readable table.
func (rep *Report) WriteTable(out io.Writer) error {
	fmt.Fprintf(out, "scenario %s: %d services, %d nodes, %.1f days at %s epochs, %d injected SLA breaches\n", rep.Scenario, rep.Services, rep.Nodes, rep.Days, rep.Epoch, rep.Breaches)
	for _, lv := range rep.Results {
		fmt.Fprintf(out, "\ncontention %.1f (Σp95 / capacity)\n", lv.Contention)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "policy\tslack\tshortfall\tshort(w)\tshort intervals\toom_risk\tkills\tutility\tjain\tchurn\tboost rec.\tbreach short\tboosts\t")
		for _, p := range lv.Policies {
			m := p.Metrics
			fmt.Fprintf(tw, "%s\t%.1f%%\t%.2f%%\t%.2f%%\t%.1f%%\t%.2f%%\t%.2f%%\t%.1f%%\t%.3f\t%.3f\t%.0f min\t%.1f%%\t%d\t\n",
				p.Name, 100*m.Slack, 100*m.Shortfall, 100*m.ShortfallW, 100*m.ShortIntervals, 100*m.OOMRisk, 100*m.OOMKills, 100*m.UtilityRatio, m.Jain, m.Churn, m.BoostRecoveryMin, 100*m.BreachShortfall, m.Boosts)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing table: %w", err)
		}
		if err := writeBreakdown(out, lv); err != nil {
			return err
		}
	}
	for _, lv := range rep.Results[:min(1, len(rep.Results))] {
		for _, p := range lv.Policies {
			if p.CoverageP90 > 0 {
				fmt.Fprintf(out, "\nforecast coverage (bids' p90 / p99): %.1f%% / %.1f%%\n", 100*p.CoverageP90, 100*p.CoverageP99)
				return nil
			}
		}
	}
	return nil
}

func resName(r int) string {
	return [nr]string{"cpu", "memory", "io", "net"}[r]
}

// writeBreakdown prints where one level's slack and shortfall come from:
// per resource, per class, per trace family (when there are several), and
// for bidding policies the sources of slack.
func writeBreakdown(out io.Writer, lv ReportLevel) error {
	if len(lv.Policies) == 0 {
		return nil
	}
	groups := []struct {
		title string
		get   func(Metrics) map[string]Part
	}{
		{"resource", func(m Metrics) map[string]Part { return m.ByResource }},
		{"class", func(m Metrics) map[string]Part { return m.ByClass }},
		{"family", func(m Metrics) map[string]Part { return m.ByFamily }},
	}
	for _, g := range groups {
		keys := partKeys(lv.Policies, g.get)
		if len(keys) < 2 && g.title != "resource" {
			continue
		}
		fmt.Fprintf(out, "\nslack / shortfall by %s (share of allocation)\n", g.title)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "policy\t")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t", k)
		}
		fmt.Fprintln(tw)
		for _, p := range lv.Policies {
			fmt.Fprintf(tw, "%s\t", p.Name)
			parts := g.get(p.Metrics)
			for _, k := range keys {
				if x, ok := parts[k]; ok {
					fmt.Fprintf(tw, "%.1f%% / %.2f%% (%.0f%%)\t", 100*x.Slack, 100*x.Shortfall, 100*x.AllocShare)
				} else {
					fmt.Fprint(tw, "-\t")
				}
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing table: %w", err)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, p := range lv.Policies {
		src := p.SlackSources
		if src == nil {
			continue
		}
		if !header {
			fmt.Fprintln(out, "\nslack sources of bidding policies (share of allocation): lost in the kernel (OOM restarts, CFS), below the forecast p90, padding (p90 to the top of the bid), granted above the bid (deadband, floors, spare); shortfall sources (share of demand): within the bid but not granted (contention), above the bid, lost in the kernel (OOM restarts, CFS)")
			fmt.Fprintln(tw, "policy\tslack\tkernel\tforecast\tpadding\tabove bid\tshortfall\tnot granted\tabove bid\tkernel\t")
			header = true
		}
		var sh ShortfallSources
		if p.ShortfallSources != nil {
			sh = *p.ShortfallSources
		}
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.2f%%\t%.2f%%\t%.2f%%\t%.2f%%\t\n", p.Name, 100*p.Slack, 100*src.Kernel, 100*src.Forecast, 100*src.Padding, 100*src.AboveBid, 100*p.Shortfall, 100*sh.NotGranted, 100*sh.AboveBid, 100*sh.Kernel)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	fmt.Fprint(out, "\nslack lost in the kernel (OOM restarts, CFS; share of allocation):")
	for _, p := range lv.Policies {
		fmt.Fprintf(out, " %s %.1f%%", p.Name, 100*p.SlackKernel)
	}
	fmt.Fprintln(out)
	return nil
}

// partKeys is the sorted union of the keys of every policy's parts.
func partKeys(ps []ReportPolicy, get func(Metrics) map[string]Part) []string {
	seen := map[string]bool{}
	var keys []string
	for _, p := range ps {
		for k := range get(p.Metrics) {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
