package fsm

import (
	"fmt"
	"reflect"

	"github.com/allot-dev/allot/bidding"
)

// Envelope versions: byte 0 of every command. Byte 1 is the command type in
// every version; the payload's encoding depends on the version.
const (
	// EnvelopeJSON (1) is the original encoding: a JSON payload. Entries of
	// existing logs and snapshots are in it; Decode reads it forever.
	EnvelopeJSON byte = 1
	// EnvelopeMsgpack (2) is a canonical msgpack payload (codec.go).
	EnvelopeMsgpack byte = 2
	// EnvelopeVersion is what Encode writes.
	EnvelopeVersion = EnvelopeMsgpack
)

// IgnorableFlag marks a command type that an older FSM may skip if it does
// not know it (forward compatibility), instead of treating it as a bug.
const IgnorableFlag byte = 0x80

// CommandType is the second byte of the envelope.
type CommandType byte

// Command types. Values are part of the on-disk log format: never renumber.
const (
	CmdRegisterService   CommandType = 1
	CmdDeregisterService CommandType = 2
	CmdSubmitBids        CommandType = 3
	CmdCommitPlan        CommandType = 4
	CmdSetBoost          CommandType = 5
	CmdClearBoost        CommandType = 6
	CmdUpsertMember      CommandType = 7
	CmdRemoveMember      CommandType = 8
	CmdSetSettings       CommandType = 9
	CmdACLBootstrap      CommandType = 10
	CmdACLTokenCreate    CommandType = 11
	CmdACLTokenDelete    CommandType = 12
	CmdReportUsage       CommandType = 13
	CmdSetRegressors     CommandType = 14
	CmdImportHistory     CommandType = 15
	CmdSubmitBidBatch    CommandType = 16
	// CmdCommitPlanDelta is a plan as a delta against the latest one
	// (plandelta.go). Not ignorable: skipping a plan would diverge.
	CmdCommitPlanDelta CommandType = 18
	// CmdStateCheck is ignorable: an older FSM skips the check.
	CmdStateCheck CommandType = 0x91 // 17 with IgnorableFlag
)

// String is the command's name from the table, or command(N) if unknown.
func (t CommandType) String() string {
	if spec, ok := commands[t]; ok {
		return spec.name
	}
	if spec, ok := commands[t&^CommandType(IgnorableFlag)]; ok {
		return spec.name
	}
	return fmt.Sprintf("command(%d)", byte(t))
}

// Payloads.

// RegisterService registers or replaces a service definition.
type RegisterService struct {
	Service bidding.Service `json:"service"`
}

// DeregisterService removes a service with its bids and boosts.
type DeregisterService struct {
	Name string `json:"name"`
}

// SubmitBids stores bids; a bid for the same (service, node, epoch) replaces the earlier one.
type SubmitBids struct {
	Bids []bidding.Bid `json:"bids"`
}

// SubmitBidBatch is many bid requests in one entry (the leader's group
// commit, cluster/batch.go). Each request is validated and applied in order
// against the state the earlier ones left, exactly as if it were its own
// submit-bids entry; a refused request changes nothing and does not stop the
// others. Apply returns a *BatchResult with one answer per request.
type SubmitBidBatch struct {
	Requests []SubmitBids `json:"requests"`
}

// BatchResult is what Apply returns for a submit-bid-batch entry: Errs[i] is
// nil when request i was applied, else why it was refused (the same error a
// submit-bids entry of its own would have returned).
type BatchResult struct {
	Errs []error
}

// CommitPlan stores a plan the leader solved.
type CommitPlan struct {
	Plan bidding.Plan `json:"plan"`
}

// SetBoost sets (replaces) a service's boost.
type SetBoost struct {
	Boost bidding.Boost `json:"boost"`
}

// ClearBoost removes a service's boost.
type ClearBoost struct {
	Service string `json:"service"`
}

// UpsertMember records a node (from the leader's reconcile of gossip members).
type UpsertMember struct {
	Member Member `json:"member"`
}

// RemoveMember removes a node record.
type RemoveMember struct {
	ID string `json:"id"`
}

// SetSettings replaces the cluster-wide negotiation settings.
type SetSettings struct {
	Settings Settings `json:"settings"`
}

// ACLBootstrap creates the first operator token and marks the ACL system
// bootstrapped; a second bootstrap is rejected. The caller (the API on the
// leader) generates the accessor ID and the secret from a CSPRNG and puts
// only the secret's SHA-256 in the command: the log never holds a secret.
type ACLBootstrap struct {
	Token ACLToken `json:"token"`
}

// ACLTokenCreate adds a token (accessor ID and secret hash decided by the caller).
type ACLTokenCreate struct {
	Token ACLToken `json:"token"`
}

// ACLTokenDelete removes a token by its accessor ID.
type ACLTokenDelete struct {
	AccessorID string `json:"accessor_id"`
}

// commandSpec is one row of the command table: everything the envelope,
// the names and Apply need to know about a command type.
type commandSpec struct {
	name string
	// ignorable says an FSM that does not know the type may skip it; the
	// type's value must then carry IgnorableFlag (TestCommandTable).
	ignorable bool
	// newPayload returns a pointer to a zero payload to decode into.
	newPayload func() any
	// payload returns v as a pointer to the table's payload type, or false
	// if v is neither T nor *T.
	payload func(v any) (any, bool)
	// apply applies a decoded payload (a *T) to the state at a log index.
	// A non-nil error means the command was refused and nothing changed; a
	// result (nil for most commands) is what Apply returns to the writer.
	apply func(s *state, index uint64, cmd any) (any, error)
	// dec decodes a msgpack payload into a *T (msgpack.go).
	dec decFunc
	// check refuses a payload (the T, not a pointer) that JSON could not
	// represent (codec.go).
	check checkFunc
}

// command builds a table row for payload type T whose apply answers only
// with an error.
func command[T any](name string, apply func(s *state, index uint64, c *T) error) commandSpec {
	return commandWithResult(name, func(s *state, index uint64, c *T) (any, error) { return nil, apply(s, index, c) })
}

// commandWithResult builds a table row for payload type T whose apply also
// returns a result to the writer (a batch's per-request answers).
func commandWithResult[T any](name string, apply func(s *state, index uint64, c *T) (any, error)) commandSpec {
	return commandSpec{
		name:       name,
		newPayload: func() any { return new(T) },
		payload: func(v any) (any, bool) {
			switch p := v.(type) {
			case T:
				return &p, true
			case *T:
				return p, p != nil
			}
			return nil, false
		},
		apply: func(s *state, index uint64, cmd any) (any, error) { return apply(s, index, cmd.(*T)) },
		dec:   compileDec(reflect.TypeFor[T]()),
		check: compileCheck(reflect.TypeFor[T]()),
	}
}

// commands is the one table of command types: adding a command is adding a
// row here (and its payload type and apply function). It is never changed
// after initialisation.
var commands = map[CommandType]commandSpec{
	CmdRegisterService:   command("register-service", applyRegisterService),
	CmdDeregisterService: command("deregister-service", applyDeregisterService),
	CmdSubmitBids:        command("submit-bids", applySubmitBids),
	CmdCommitPlan:        command("commit-plan", applyCommitPlan),
	CmdSetBoost:          command("set-boost", applySetBoost),
	CmdClearBoost:        command("clear-boost", applyClearBoost),
	CmdUpsertMember:      command("upsert-member", applyUpsertMember),
	CmdRemoveMember:      command("remove-member", applyRemoveMember),
	CmdSetSettings:       command("set-settings", applySetSettings),
	CmdACLBootstrap:      command("acl-bootstrap", applyACLBootstrap),
	CmdACLTokenCreate:    command("acl-token-create", applyACLTokenCreate),
	CmdACLTokenDelete:    command("acl-token-delete", applyACLTokenDelete),
	CmdReportUsage:       command("report-usage", applyReportUsage),
	CmdSetRegressors:     command("set-regressors", applySetRegressors),
	CmdImportHistory:     command("import-history", applyImportHistory),
	CmdSubmitBidBatch:    commandWithResult("submit-bid-batch", applySubmitBidBatch),
	CmdCommitPlanDelta:   command("commit-plan-delta", applyCommitPlanDelta),
	CmdStateCheck:        ignorable(command("state-check", applyStateCheck)),
}

// ignorable marks a row as one an FSM that does not know it may skip.
func ignorable(c commandSpec) commandSpec {
	c.ignorable = true
	return c
}
