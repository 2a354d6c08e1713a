package main

import (
	"fmt"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/fsm"
)

const aclUsage = `acl: expected one of
  acl bootstrap
  acl token create --policy operator|read|bid [--service NAME] [--description TEXT]
  acl token list
  acl token self
  acl token delete ACCESSOR`

// cmdACL is `allot acl …`: bootstrap and token management (ACLs must be
// enabled on the agents: acl { enabled = true }).
func cmdACL(e *env, args []string) int {
	if len(args) == 0 {
		return e.usageErr("%s", aclUsage)
	}
	switch args[0] {
	case "bootstrap":
		if len(args) != 1 {
			return e.usageErr("acl bootstrap: takes no arguments")
		}
		return e.aclCall("PUT", "/v1/acl/bootstrap", nil)
	case "token":
		if len(args) < 2 {
			return e.usageErr("%s", aclUsage)
		}
		return cmdACLToken(e, args[1], args[2:])
	}
	return e.usageErr("acl: unknown subcommand %q\n%s", args[0], aclUsage)
}

func cmdACLToken(e *env, sub string, args []string) int {
	switch sub {
	case "create":
		fs := newFlags("acl token create", e)
		policy := fs.String("policy", "", "operator, read or bid")
		service := fs.String("service", "", "for a bid token: the one service it may bid for")
		desc := fs.String("description", "", "a note shown in 'acl token list'")
		if err := fs.Parse(args); err != nil {
			return exitUsage
		}
		if fs.NArg() != 0 {
			return e.usageErr("acl token create: unexpected argument %q", fs.Arg(0))
		}
		if *policy == "" {
			return e.usageErr("acl token create: --policy is required (operator, read or bid)")
		}
		if err := fsm.ValidatePolicy(*policy, *service); err != nil {
			return e.usageErr("acl token create: %v", err)
		}
		return e.aclCall("PUT", "/v1/acl/token", api.ACLTokenRequest{Policy: *policy, Service: *service, Description: *desc})
	case "self":
		if len(args) != 0 {
			return e.usageErr("acl token self: takes no arguments")
		}
		return e.aclCall("GET", "/v1/acl/token/self", nil)
	case "delete":
		if len(args) != 1 || args[0] == "" {
			return e.usageErr("acl token delete: expected one ACCESSOR (from 'allot acl token list')")
		}
		ctx, cancel := e.ctx()
		defer cancel()
		var out map[string]any
		if _, err := e.client().Do(ctx, "DELETE", "/v1/acl/token/"+args[0], nil, &out); err != nil {
			return e.fail(err)
		}
		if e.g.json {
			return e.printJSON(out)
		}
		fmt.Fprintf(e.stdout, "Deleted token %s\n", args[0])
		return exitOK
	case "list":
		if len(args) != 0 {
			return e.usageErr("acl token list: takes no arguments")
		}
		ctx, cancel := e.ctx()
		defer cancel()
		var toks []api.ACLTokenView
		if _, err := e.client().Do(ctx, "GET", "/v1/acl/tokens", nil, &toks); err != nil {
			return e.fail(err)
		}
		if e.g.json {
			return e.printJSON(toks)
		}
		var rows [][]string
		for _, t := range toks {
			svc := t.Service
			if svc == "" {
				svc = "-"
			}
			rows = append(rows, []string{t.AccessorID, t.Policy, svc, fmt.Sprint(t.CreateIndex), t.Description})
		}
		e.table("AccessorID\tPolicy\tService\tCreateIndex\tDescription", rows)
		return exitOK
	}
	return e.usageErr("acl token: unknown subcommand %q\n%s", sub, aclUsage)
}

// aclCall sends one request whose answer is a token and prints it.
func (e *env) aclCall(method, path string, body any) int {
	ctx, cancel := e.ctx()
	defer cancel()
	var t api.ACLTokenView
	if _, err := e.client().Do(ctx, method, path, body, &t); err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(t)
	}
	e.printToken(t)
	return exitOK
}

func (e *env) printToken(t api.ACLTokenView) {
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
}
