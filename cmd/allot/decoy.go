package main

import (
	"github.com/allot-dev/allot/enforce"
	"github.com/spf13/cobra"
)

// oomDecoyCmd runs `allot oom-decoy`, the OOM decoy the node client starts
// where memory is borrowed (client.memory_borrow; enforce.Decoy). Hidden:
// the agent starts it, nobody types it.
func oomDecoyCmd(e *env) *cobra.Command {
	var (
		memory int64
		join   []string
	)
	c := &cobra.Command{
		Use:    "oom-decoy",
		Short:  "The OOM decoy a borrowing node client runs: first in the OOM killer's line after every borrower",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if memory <= 0 {
				return usagef("--memory %d: want a positive number of bytes", memory)
			}
			ctx, cancel := e.ctx()
			defer cancel()
			return enforce.RunDecoy(ctx, join, memory)
		},
	}
	c.Flags().Int64Var(&memory, "memory", enforce.DecoyMemory, "bytes to hold resident")
	c.Flags().StringArrayVar(&join, "join", nil, "a cgroup.procs file to join before holding anything (repeatable)")
	return c
}
