package main

import (
	"fmt"
	"text/tabwriter"
	"time"
)

// cmdAudit is `allot audit [--since D|TIME]`: the writes the asked agent
// accepted as leader, oldest first (each server keeps its own log).
func cmdAudit(e *env, args []string) int {
	fs := newFlags("audit", e)
	since := fs.String("since", "", "only records from this long ago (1h) or since this RFC 3339 time")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 0 {
		return e.usageErr("audit: unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := e.ctx()
	defer cancel()
	recs, err := e.client().Audit(ctx, *since)
	if err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(recs)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tINDEX\tCOMMAND\tKEY\tACCESSOR\tCLIENT")
	for _, r := range recs {
		acc := r.Accessor
		if acc == "" {
			acc = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Time.Format(time.RFC3339), r.Index, r.Command, r.Key, acc, r.Client)
	}
	tw.Flush()
	return exitOK
}
