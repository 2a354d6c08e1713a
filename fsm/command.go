package fsm

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/allot-dev/allot/bidding"
)

// EnvelopeVersion is the version byte every command starts with.
const EnvelopeVersion byte = 1

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
)

func (t CommandType) String() string {
	switch t &^ CommandType(IgnorableFlag) {
	case CmdRegisterService:
		return "register-service"
	case CmdDeregisterService:
		return "deregister-service"
	case CmdSubmitBids:
		return "submit-bids"
	case CmdCommitPlan:
		return "commit-plan"
	case CmdSetBoost:
		return "set-boost"
	case CmdClearBoost:
		return "clear-boost"
	case CmdUpsertMember:
		return "upsert-member"
	case CmdRemoveMember:
		return "remove-member"
	case CmdSetSettings:
		return "set-settings"
	case CmdACLBootstrap:
		return "acl-bootstrap"
	case CmdACLTokenCreate:
		return "acl-token-create"
	case CmdACLTokenDelete:
		return "acl-token-delete"
	case CmdReportUsage:
		return "report-usage"
	case CmdSetRegressors:
		return "set-regressors"
	case CmdImportHistory:
		return "import-history"
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

// Encode builds a command envelope: version byte, type byte, JSON payload.
func Encode(t CommandType, payload any) ([]byte, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encoding %s command: %w", t, err)
	}
	out := make([]byte, 0, len(b)+2)
	out = append(out, EnvelopeVersion, byte(t))
	return append(out, b...), nil
}

// ErrUnknownIgnorable is returned by Decode for an unknown command type that
// carries the ignorable flag: the FSM skips it.
var ErrUnknownIgnorable = errors.New("unknown ignorable command")

// Decode splits an envelope and decodes its payload into the matching type.
func Decode(data []byte) (CommandType, any, error) {
	if len(data) < 2 {
		return 0, nil, fmt.Errorf("command envelope: %d bytes, need at least 2", len(data))
	}
	if data[0] != EnvelopeVersion {
		return 0, nil, fmt.Errorf("command envelope: version %d, this build knows %d", data[0], EnvelopeVersion)
	}
	t := CommandType(data[1])
	var v any
	switch t {
	case CmdRegisterService:
		v = &RegisterService{}
	case CmdDeregisterService:
		v = &DeregisterService{}
	case CmdSubmitBids:
		v = &SubmitBids{}
	case CmdCommitPlan:
		v = &CommitPlan{}
	case CmdSetBoost:
		v = &SetBoost{}
	case CmdClearBoost:
		v = &ClearBoost{}
	case CmdUpsertMember:
		v = &UpsertMember{}
	case CmdRemoveMember:
		v = &RemoveMember{}
	case CmdSetSettings:
		v = &SetSettings{}
	case CmdACLBootstrap:
		v = &ACLBootstrap{}
	case CmdACLTokenCreate:
		v = &ACLTokenCreate{}
	case CmdACLTokenDelete:
		v = &ACLTokenDelete{}
	case CmdReportUsage:
		v = &ReportUsage{}
	case CmdSetRegressors:
		v = &SetRegressors{}
	case CmdImportHistory:
		v = &ImportHistory{}
	default:
		if byte(t)&IgnorableFlag != 0 {
			return t, nil, ErrUnknownIgnorable
		}
		return t, nil, fmt.Errorf("command envelope: unknown command type %d", byte(t))
	}
	if err := json.Unmarshal(data[2:], v); err != nil {
		return t, nil, fmt.Errorf("decoding %s payload: %w", t, err)
	}
	return t, v, nil
}
