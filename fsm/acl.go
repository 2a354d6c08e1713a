package fsm

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/allot-dev/allot/bidding"
)

// ACL policies. A token has exactly one.
const (
	PolicyOperator = "operator" // everything, including ACL management
	PolicyRead     = "read"     // every GET except ACL listings
	PolicyBid      = "bid"      // read, plus PUT /v1/bids for its one service
)

// MaxACLDescription bounds a token's description.
const MaxACLDescription = 256

// maxAccessorLen bounds an accessor ID (a UUID is 36 characters).
const maxAccessorLen = 64

// ErrACLBootstrapped is the rejection of a second bootstrap.
var ErrACLBootstrapped = errors.New("ACL bootstrap no longer allowed: the ACL system is already bootstrapped")

// ACLToken is a token as the replicated state holds it: the accessor ID in
// clear, the secret only as its SHA-256 (hex), so that snapshots, the log
// and every state dump are free of secrets.
type ACLToken struct {
	AccessorID  string `json:"accessor_id"`
	SecretHash  string `json:"secret_hash"`
	Policy      string `json:"policy"`
	Service     string `json:"service,omitempty"` // the one service a bid token may bid for
	Description string `json:"description,omitempty"`
	CreateIndex uint64 `json:"create_index"` // set by Apply from the log index
}

// ValidatePolicy checks a policy and its service scope: bid needs a
// service, the other policies must not have one.
func ValidatePolicy(policy, service string) error {
	switch policy {
	case PolicyOperator, PolicyRead:
		if service != "" {
			return fmt.Errorf("service: only a %q token is scoped to a service, not a %q one", PolicyBid, policy)
		}
	case PolicyBid:
		if service == "" {
			return fmt.Errorf("service: a %q token needs the service it may bid for", PolicyBid)
		}
		if err := bidding.ValidateName("service", service); err != nil {
			return err
		}
	default:
		return fmt.Errorf("policy: %q is not allowed: %s, %s or %s", policy, PolicyOperator, PolicyRead, PolicyBid)
	}
	return nil
}

// Validate checks a token as it arrives in a command.
func (t *ACLToken) Validate() error {
	if t.AccessorID == "" || len(t.AccessorID) > maxAccessorLen {
		return fmt.Errorf("accessor_id: must be 1 to %d characters", maxAccessorLen)
	}
	if b, err := hex.DecodeString(t.SecretHash); err != nil || len(b) != 32 || hex.EncodeToString(b) != t.SecretHash {
		return errors.New("secret_hash: must be a lowercase hex SHA-256")
	}
	if len(t.Description) > MaxACLDescription {
		return fmt.Errorf("description: %d bytes, at most %d", len(t.Description), MaxACLDescription)
	}
	return ValidatePolicy(t.Policy, t.Service)
}

// addTokenLocked validates and stores a token; it changes nothing on error.
func addTokenLocked(s *state, index uint64, t ACLToken) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if _, ok := s.ACLTokens[t.AccessorID]; ok {
		return fmt.Errorf("accessor_id: %q already exists", t.AccessorID)
	}
	for _, o := range s.ACLTokens {
		if o.SecretHash == t.SecretHash {
			return errors.New("secret_hash: already used by another token")
		}
	}
	t.CreateIndex = index
	if s.ACLTokens == nil {
		s.ACLTokens = map[string]ACLToken{}
	}
	s.ACLTokens[t.AccessorID] = t
	return nil
}

func applyACLLocked(s *state, index uint64, cmd any) error {
	switch c := cmd.(type) {
	case *ACLBootstrap:
		if s.ACLBootstrapIndex != 0 {
			return fmt.Errorf("%w (at index %d)", ErrACLBootstrapped, s.ACLBootstrapIndex)
		}
		if c.Token.Policy != PolicyOperator {
			return fmt.Errorf("policy: the bootstrap token must be %q, not %q", PolicyOperator, c.Token.Policy)
		}
		if err := addTokenLocked(s, index, c.Token); err != nil {
			return err
		}
		s.ACLBootstrapIndex = index
	case *ACLTokenCreate:
		return addTokenLocked(s, index, c.Token)
	case *ACLTokenDelete:
		t, ok := s.ACLTokens[c.AccessorID]
		if !ok {
			return fmt.Errorf("accessor_id: token %q does not exist", c.AccessorID)
		}
		if t.Policy == PolicyOperator {
			n := 0
			for _, o := range s.ACLTokens {
				if o.Policy == PolicyOperator {
					n++
				}
			}
			if n == 1 {
				return fmt.Errorf("accessor_id: %q is the last operator token; deleting it would lock every operator out", c.AccessorID)
			}
		}
		delete(s.ACLTokens, c.AccessorID)
	default:
		return fmt.Errorf("no handler for %T", cmd)
	}
	return nil
}

// ACLBootstrapIndex is the log index of the ACL bootstrap (0: not bootstrapped).
func (f *FSM) ACLBootstrapIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.ACLBootstrapIndex
}

// ACLTokens returns every token sorted by accessor ID (secret hashes included:
// callers that show tokens must drop them).
func (f *FSM) ACLTokens() []ACLToken {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]ACLToken, 0, len(f.st.ACLTokens))
	for _, k := range slices.Sorted(maps.Keys(f.st.ACLTokens)) {
		out = append(out, f.st.ACLTokens[k])
	}
	return out
}

// ACLToken returns one token by accessor ID.
func (f *FSM) ACLToken(accessor string) (ACLToken, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t, ok := f.st.ACLTokens[accessor]
	return t, ok
}

// ResolveACLToken finds the token whose secret hashes to secretHash (the raw
// 32-byte SHA-256). Every stored hash is compared in constant time and the
// loop never stops early, so the time taken says nothing about how close a
// guess came or which token matched.
func (f *FSM) ResolveACLToken(secretHash []byte) (ACLToken, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var found ACLToken
	ok := 0
	want := make([]byte, 32)
	for _, t := range f.st.ACLTokens {
		if _, err := hex.Decode(want, []byte(t.SecretHash)); err != nil {
			continue // never stored: Validate checked it
		}
		if m := subtle.ConstantTimeCompare(want, secretHash); m == 1 {
			found, ok = t, 1
		}
	}
	return found, ok == 1
}
