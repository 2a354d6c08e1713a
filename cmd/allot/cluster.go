package main

import (
	"context"
	"fmt"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/spf13/cobra"
)

func membersCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "members",
		Short:   "List the gossip members the agent knows",
		Example: "  allot members\n  allot members --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) ([]api.MemberView, error) { return c.Members(ctx) }, func(ms []api.MemberView) error {
				var rows [][]string
				for _, m := range ms {
					rows = append(rows, []string{m.Name, m.Address, m.Role, m.Status, m.ID})
				}
				e.table("Node\tAddress\tRole\tStatus\tID", rows)
				return nil
			})
		},
	}
}

func joinCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "join ADDR...",
		Short: "Ask the agent to join a cluster through members' gossip addresses",
		Long: `Ask the agent (--http-addr) to join the gossip pool through one or more members' gossip
addresses (port 7481). Fails within memberlist's 10 s TCP timeout when no Allot agent answers.`,
		Example: "  allot join 10.0.1.11:7481\n  allot join 10.0.1.11:7481 10.0.1.12:7481",
		Args:    minArgs(1, "at least one address (allot join HOST:PORT)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return queryWithin(e, 30*time.Second, func(ctx context.Context, c *api.Client) (map[string]int, error) {
				n, err := c.Join(ctx, args)
				return map[string]int{"joined": n}, err
			}, func(v map[string]int) error {
				fmt.Fprintf(e.stdout, "Joined: %d node(s) contacted\n", v["joined"])
				return nil
			})
		},
	}
}

func leaveCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Make the agent leave the cluster gracefully and exit",
		Long: `Make the agent at --http-addr leave: a server hands leadership over if it leads, has the
leader remove it from Raft, waits until it is out of the configuration, then leaves gossip and
exits.`,
		Example: "  allot leave\n  allot --http-addr 10.0.1.13:7480 leave",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return queryWithin(e, 60*time.Second, func(ctx context.Context, c *api.Client) (map[string]bool, error) {
				return map[string]bool{"left": true}, c.Leave(ctx)
			}, func(map[string]bool) error {
				fmt.Fprintln(e.stdout, "Graceful leave complete")
				return nil
			})
		},
	}
}

func operatorCmd(e *env) *cobra.Command {
	listPeers := &cobra.Command{
		Use:     "list-peers",
		Short:   "Show the Raft configuration: servers, their state and vote",
		Example: "  allot operator raft list-peers",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) ([]cluster.Peer, error) { return c.Peers(ctx) }, func(peers []cluster.Peer) error {
				var rows [][]string
				for _, p := range peers {
					rows = append(rows, []string{p.Name, p.ID, p.Address, peerState(p), fmt.Sprint(p.Voter)})
				}
				e.table("Node\tID\tAddress\tState\tVoter", rows)
				return nil
			})
		},
	}
	var id string
	removePeer := &cobra.Command{
		Use:   "remove-peer --id ID",
		Short: "Remove a server that is gone from the Raft configuration",
		Long: `Remove a server from the Raft configuration, by ID or node name. Refuses an ID that is not
in the configuration and the last voter.`,
		Example: "  allot operator raft remove-peer --id server3",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return usagef("--id is required")
			}
			return query(e, func(ctx context.Context, c *api.Client) (map[string]string, error) {
				return map[string]string{"removed": id}, c.RemovePeer(ctx, id)
			}, func(map[string]string) error {
				fmt.Fprintf(e.stdout, "Removed peer %s\n", id)
				return nil
			})
		},
	}
	removePeer.Flags().StringVar(&id, "id", "", "ID (or node name) of the server to remove (required)")
	raft := group("raft", "Raft configuration: list and remove peers", "  allot operator raft list-peers", listPeers, removePeer)
	return group("operator", "Operator tools for the Raft configuration", "  allot operator raft list-peers\n  allot operator raft remove-peer --id server3", raft)
}

func peerState(p cluster.Peer) string {
	if p.Leader {
		return "leader"
	}
	return "follower"
}

// healthCmd exits 0 when the local agent answers /v1/health with 200 (it
// serves and knows a leader), 1 otherwise: for container health checks,
// where the FROM scratch image has no shell or curl.
func healthCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Exit 0 when the agent serves and knows a leader (for health checks)",
		Long: `Ask the agent for its readiness (GET /v1/health): exit 0 and print "ok" when it serves and
knows a leader, exit 1 with the reasons otherwise (no leader, behind the leader, data directory
not writable, state diverged). Meant for container health checks: the image has no shell.`,
		Example: "  allot health\n  allot --http-addr 127.0.0.1:7480 health && echo ready",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return queryWithin(e, 3*time.Second, func(ctx context.Context, c *api.Client) (api.Health, error) { return c.Health(ctx) }, func(api.Health) error {
				fmt.Fprintln(e.stdout, "ok")
				return nil
			})
		},
	}
}

// statusView is `allot status --json`.
type statusView struct {
	Leader      *api.LeaderView  `json:"leader,omitempty"`
	LeaderError string           `json:"leader_error,omitempty"`
	Peers       []cluster.Peer   `json:"peers,omitempty"`
	Members     []api.MemberView `json:"members"`
	Plan        *planSummary     `json:"plan,omitempty"`
	Healthy     bool             `json:"healthy"`
}

type planSummary struct {
	Epoch       uint64        `json:"epoch"`
	Index       uint64        `json:"index"`
	Hash        string        `json:"hash"`
	Created     time.Time     `json:"created"`
	Allocations int           `json:"allocations"`
	Stats       bidding.Stats `json:"stats"`
}

func statusCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "status",
		Short:   "Leader, peers, members, last plan and health at a glance",
		Example: "  allot status\n  allot status --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var herr error // the health check's refusal, for the human view
			return query(e, func(ctx context.Context, c *api.Client) (statusView, error) {
				var v statusView
				if l, err := c.Leader(ctx); err != nil {
					v.LeaderError = err.Error()
				} else {
					v.Leader = &l
				}
				v.Peers, _ = c.Peers(ctx)
				var err error
				if v.Members, err = c.Members(ctx); err != nil {
					return v, err
				}
				if p, err := c.Plan(ctx, 0); err == nil {
					v.Plan = &planSummary{Epoch: p.Epoch, Index: p.Index, Hash: p.Hash, Created: p.Created, Allocations: len(p.Allocations), Stats: p.Stats}
				}
				_, herr = c.Health(ctx)
				v.Healthy = herr == nil
				return v, nil
			}, func(v statusView) error {
				e.printStatus(v, herr)
				return nil
			})
		},
	}
}

// printStatus is the human view of 'allot status'; herr is the health
// check's refusal (nil: healthy).
func (e *env) printStatus(v statusView, herr error) {
	if v.Leader != nil {
		fmt.Fprintf(e.stdout, "Leader:   %s (%s)\n", v.Leader.Name, v.Leader.Address)
	} else {
		fmt.Fprintf(e.stdout, "Leader:   none (%s)\n", v.LeaderError)
	}
	alive := 0
	for _, m := range v.Members {
		if m.Status == "alive" {
			alive++
		}
	}
	fmt.Fprintf(e.stdout, "Peers:    %d in Raft\nMembers:  %d alive of %d\n", len(v.Peers), alive, len(v.Members))
	if p := v.Plan; p != nil && p.Epoch > 0 {
		fmt.Fprintf(e.stdout, "Plan:     epoch %d, %d allocations, %s, committed %s\n", p.Epoch, p.Allocations, p.Hash, p.Created.Format(time.RFC3339))
	} else {
		fmt.Fprintln(e.stdout, "Plan:     none yet")
	}
	health := "ok"
	if herr != nil {
		health = "unhealthy: " + herr.Error()
	}
	fmt.Fprintf(e.stdout, "Health:   %s\n", health)
}
