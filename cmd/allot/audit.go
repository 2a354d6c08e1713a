package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/audit"
	"github.com/spf13/cobra"
)

// auditCmd is `allot audit [--since D|TIME]`: the writes the asked agent
// accepted as leader, oldest first (each server keeps its own log).
func auditCmd(e *env) *cobra.Command {
	var since string
	c := &cobra.Command{
		Use:   "audit [--since 1h|TIME]",
		Short: "The writes this server accepted as leader (needs an operator token)",
		Long: `List the writes the asked server accepted as leader, oldest first: time, Raft index, command,
key, the token's accessor and the caller's address. Each server keeps its own log in
DATA_DIR/audit/audit.log.`,
		Example: "  allot audit --since 1h\n  allot audit --since 2026-12-01T00:00:00Z --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) ([]audit.Record, error) { return c.Audit(ctx, since) }, e.printAudit)
		},
	}
	c.Flags().StringVar(&since, "since", "", "only records from this long ago (1h) or since this RFC 3339 time")
	return c
}

// printAudit is the human view of 'allot audit'.
func (e *env) printAudit(recs []audit.Record) error {
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
	return nil
}
