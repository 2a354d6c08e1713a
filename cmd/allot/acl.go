package main

import (
	"context"
	"fmt"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/fsm"
	"github.com/spf13/cobra"
)

// aclCmd is `allot acl …`: bootstrap and token management (ACLs must be
// enabled on the agents: acl { enabled = true }).
func aclCmd(e *env) *cobra.Command {
	bootstrap := &cobra.Command{
		Use:   "bootstrap",
		Short: "Create the first operator token (once per cluster)",
		Long: `Create the cluster's first operator token and print its SecretID, shown only now. A second
bootstrap is refused (403).`,
		Example: "  allot acl bootstrap\n  export ALLOT_TOKEN=<SecretID>",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) (api.ACLTokenView, error) { return c.ACLBootstrap(ctx) }, e.printToken)
		},
	}
	var policy, service, desc string
	create := &cobra.Command{
		Use:   "create --policy operator|read|bid [--service NAME] [--description TEXT]",
		Short: "Create a token with one policy",
		Long: `Create a token: read (every GET but the token list), bid (read, plus bids for the one service
it is scoped to) or operator (everything). The SecretID is shown only now.`,
		Example: `  allot acl token create --policy bid --service checkout --description "checkout's bidder"
  allot acl token create --policy read`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if policy == "" {
				return usagef("--policy is required (operator, read or bid)")
			}
			if err := fsm.ValidatePolicy(policy, service); err != nil {
				return usagef("%v", err)
			}
			return query(e, func(ctx context.Context, c *api.Client) (api.ACLTokenView, error) {
				return c.ACLCreateToken(ctx, api.ACLTokenRequest{Policy: policy, Service: service, Description: desc})
			}, e.printToken)
		},
	}
	create.Flags().StringVar(&policy, "policy", "", "operator, read or bid (required)")
	create.Flags().StringVar(&service, "service", "", "for a bid token: the one service it may bid for")
	create.Flags().StringVar(&desc, "description", "", "a note shown in 'acl token list'")
	self := &cobra.Command{
		Use:     "self",
		Short:   "Show the token in use (--token or ALLOT_TOKEN)",
		Example: "  allot acl token self",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) (api.ACLTokenView, error) { return c.ACLTokenSelf(ctx) }, e.printToken)
		},
	}
	del := &cobra.Command{
		Use:     "delete ACCESSOR",
		Short:   "Delete a token by its accessor ID",
		Example: "  allot acl token delete 6a1f…",
		Args:    exactArgs(1, "one ACCESSOR (from 'allot acl token list')"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return usagef("expected one ACCESSOR (from 'allot acl token list')")
			}
			return query(e, func(ctx context.Context, c *api.Client) (map[string]any, error) {
				idx, err := c.ACLDeleteToken(ctx, args[0])
				return map[string]any{"index": idx, "deleted": args[0]}, err
			}, func(map[string]any) error {
				fmt.Fprintf(e.stdout, "Deleted token %s\n", args[0])
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List tokens: accessor IDs and policies, never secrets",
		Example: "  allot acl token list",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) ([]api.ACLTokenView, error) { return c.ACLTokens(ctx) }, e.printTokens)
		},
	}
	token := group("token", "Create, list, show and delete tokens", "  allot acl token create --policy read\n  allot acl token list", create, list, self, del)
	return group("acl", "ACL tokens (acl { enabled = true } on every agent)", "  allot acl bootstrap\n  allot acl token create --policy bid --service web", bootstrap, token)
}

// printTokens is 'acl token list': accessors and policies, never secrets.
func (e *env) printTokens(toks []api.ACLTokenView) error {
	var rows [][]string
	for _, t := range toks {
		svc := t.Service
		if svc == "" {
			svc = "-"
		}
		rows = append(rows, []string{t.AccessorID, t.Policy, svc, fmt.Sprint(t.CreateIndex), t.Description})
	}
	e.table("AccessorID\tPolicy\tService\tCreateIndex\tDescription", rows)
	return nil
}

// printToken is the human view of every command whose answer is a token.
func (e *env) printToken(t api.ACLTokenView) error {
	fmt.Fprintf(e.stdout, "AccessorID:   %s\n", t.AccessorID)
	if t.SecretID != "" {
		fmt.Fprintf(e.stdout, "SecretID:     %s\n", t.SecretID)
	}
	fmt.Fprintf(e.stdout, "Policy:       %s\n", t.Policy)
	if t.Service != "" {
		fmt.Fprintf(e.stdout, "Service:      %s\n", t.Service)
	}
	if t.Description != "" {
		fmt.Fprintf(e.stdout, "Description:  %s\n", t.Description)
	}
	fmt.Fprintf(e.stdout, "CreateIndex:  %d\n", t.CreateIndex)
	if t.SecretID != "" {
		fmt.Fprintln(e.stdout, "The SecretID is shown only now: keep it (ALLOT_TOKEN or --token).")
	}
	return nil
}
