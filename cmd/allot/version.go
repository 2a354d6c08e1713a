package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time (Makefile: -ldflags "-X main.version=… -X main.commit=…
// -X main.buildDate=…"). Without them the commit comes from the VCS stamp
// Go embeds in binaries built in a checkout.
var (
	version   = "0.1.0-dev"
	commit    = ""
	buildDate = ""
)

// versionInfo is `allot version --json`.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func buildInfo() versionInfo {
	v := versionInfo{Version: version, Commit: commit, BuildDate: buildDate, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
				if len(v.Commit) > 12 {
					v.Commit = v.Commit[:12]
				}
			case s.Key == "vcs.time" && v.BuildDate == "":
				v.BuildDate = s.Value
			}
		}
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	if v.BuildDate == "" {
		v.BuildDate = "unknown"
	}
	return v
}

func versionString() string {
	v := buildInfo()
	return fmt.Sprintf("allot %s (commit %s, built %s, %s %s)", v.Version, v.Commit, v.BuildDate, v.GoVersion, v.Platform)
}

func versionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit, build date and Go version",
		Example: "  allot version\n  allot --version\n  allot version --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if e.g.json {
				return e.printJSON(buildInfo())
			}
			fmt.Fprintln(e.stdout, versionString())
			return nil
		},
	}
}

func keygenCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "A new gossip encryption key (32 random bytes, base64)",
		Long: `Print a new gossip encryption key: 32 random bytes in base64. Give the same key to every agent
(--encrypt-file, --encrypt or encrypt = "…" in the config).`,
		Example: "  KEY=$(allot keygen)\n  allot keygen > /etc/allot/gossip.key",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return fmt.Errorf("reading random bytes: %w", err)
			}
			k := base64.StdEncoding.EncodeToString(b)
			if e.g.json {
				return e.printJSON(map[string]string{"key": k})
			}
			fmt.Fprintln(e.stdout, k)
			return nil
		},
	}
}
