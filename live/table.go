package live

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints the report as a table: per policy, live beside the
// simulator's prediction.
func (r *Report) WriteTable(out io.Writer) error {
	fmt.Fprintf(out, "live run: %d epochs of %s (one %s trace step each), contention %.2f, %.1f minutes, %s\n",
		r.Steps, r.Epoch, r.TraceStep, r.Contention, r.Minutes, r.Machine)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\t\tslack\tshortfall\tweighted\tcritical\toom_risk\tchurn\tthrottled_s\toom_kills\tfailcnt\tlimits_ok\tgap slack\tgap short\t")
	for _, p := range r.Policies {
		l := p.Live
		fmt.Fprintf(tw, "%s\tlive\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.3f\t%.0f\t%d (%d under alloc)\t%d\t%.1f%%\t%+.1fpp\t%+.1fpp\t\n",
			p.Name, 100*l.Slack, 100*l.Shortfall, 100*l.ShortfallW, 100*l.ShortCritical, 100*l.OOMRisk, l.Churn, l.CPUThrottledS, l.OOMKills, l.OOMUnderAlloc, l.MemoryFailcnt, 100*l.LimitAgreement, p.GapPP["slack"], p.GapPP["shortfall"])
		s := p.Sim
		fmt.Fprintf(tw, "\tsim\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.3f\t\t\t\t\t\t\t\n",
			100*s.Slack, 100*s.Shortfall, 100*s.ShortfallW, 100*s.ShortCritical, 100*s.OOMRisk, s.Churn)
		for _, res := range []string{"cpu", "memory"} {
			lr, ok1 := p.LiveResources[res]
			sr, ok2 := p.SimResources[res]
			if ok1 && ok2 {
				fmt.Fprintf(tw, "\t%s live/sim\t%.1f/%.1f%%\t%.1f/%.1f%%\t\t\t\t\t\t\t\t\t\t\t\n", res, 100*lr.Slack, 100*sr.Slack, 100*lr.Shortfall, 100*sr.Shortfall)
			}
		}
		for _, f := range p.Faults {
			fmt.Fprintf(tw, "\tfault\t%s at epoch %d, back at %d, limits kept: %v\t\t\t\t\t\t\t\t\t\t\t\t\n", f.What, f.KilledStep, f.RestartStep, f.LimitsKept)
		}
	}
	return tw.Flush()
}
