package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/allot-dev/allot/loadgen"
	"github.com/spf13/cobra"
)

// loadgenCmd runs `allot loadgen`: a real process using what it is told
// (package loadgen), reporting asked vs got as JSON lines on stdout. It
// stops cleanly on SIGINT/SIGTERM or after --duration.
func loadgenCmd(e *env) *cobra.Command {
	return delegated(&cobra.Command{
		Use:   "loadgen [flags]",
		Short: "A real cpu, memory, io or network load; JSON lines of asked vs got",
		Long: `Run a real load — busy threads, resident memory, paced direct writes, a paced TCP stream, or a
replayed trace — and print one JSON line per step with what it asked for and what it got.`,
		Example: `  allot loadgen --cpu 1.5
  allot loadgen --memory 256MiB --io 10MiB/s --io-file /var/tmp/lg
  allot loadgen --trace demo/data/ec2_cpu_utilization_5f5533.csv --column value --scale 0.01 --step 3s`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := loadgen.Parse(args)
			if errors.Is(err, flag.ErrHelp) {
				return cmd.Help()
			}
			if err != nil {
				return usagef("%v", err)
			}
			ctx, cancel := e.ctx()
			defer cancel()
			if err := loadgen.Run(ctx, o, e.stdout); err != nil {
				return fmt.Errorf("loadgen: %w", err)
			}
			return nil
		},
	}, func(w io.Writer) {
		// loadgen.Usage starts with its own usage line.
		_, flags, _ := strings.Cut(loadgen.Usage, "\n")
		fmt.Fprint(w, flags)
	})
}
