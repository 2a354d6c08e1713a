package live

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/loadgen"
)

// runFile is everything a policy's live run measured, saved so that the
// report can be computed again (--rescore) against a changed simulator
// without running the containers again.
type runFile struct {
	Policy   string         `json:"policy"`
	Seconds  float64        `json:"seconds"` // the run's wall time
	T0       time.Time      `json:"t0"`
	Services []svcRecord    `json:"services"`
	Plans    []bidding.Plan `json:"plans"`
	Faults   []fault        `json:"faults,omitempty"`
	Borrow   bool           `json:"memory_borrow,omitempty"` // its clients borrowed memory
}

type svcRecord struct {
	Name     string               `json:"name"`
	Node     string               `json:"node"`
	Samples  map[int]sample       `json:"samples"`
	Lines    map[int]loadgen.Line `json:"lines"`
	OOMs     []time.Time          `json:"ooms,omitempty"`
	Restarts int                  `json:"restarts,omitempty"`
}

func (pr *policyRun) save(path string) error {
	rf := runFile{Policy: pr.policy, Seconds: pr.seconds, T0: pr.t0, Plans: pr.plans.plans, Faults: pr.faults, Borrow: pr.borrow}
	for _, ls := range pr.svcs {
		rf.Services = append(rf.Services, svcRecord{Name: ls.name, Node: ls.node, Samples: ls.samples, Lines: ls.lines, OOMs: ls.ooms, Restarts: ls.restarted})
	}
	b, err := json.Marshal(rf)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// loadRun reads a saved run; its services must be the scenario's, in order.
func loadRun(path string, names []string) (*policyRun, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rescoring: %w (run make live first)", err)
	}
	var rf runFile
	if err := json.Unmarshal(b, &rf); err != nil {
		return nil, fmt.Errorf("rescoring: %s: %w", path, err)
	}
	if len(rf.Services) != len(names) {
		return nil, fmt.Errorf("rescoring: %s has %d services, the scenario %d", path, len(rf.Services), len(names))
	}
	pr := &policyRun{policy: rf.Policy, seconds: rf.Seconds, t0: rf.T0, faults: rf.Faults, borrow: rf.Borrow}
	pr.plans.plans = rf.Plans
	for i, s := range rf.Services {
		if s.Name != names[i] {
			return nil, fmt.Errorf("rescoring: %s: service %d is %q, the scenario's is %q", path, i, s.Name, names[i])
		}
		pr.svcs = append(pr.svcs, &liveSvc{idx: i, name: s.Name, node: s.Node, samples: s.Samples, lines: s.Lines, ooms: s.OOMs, restarted: s.Restarts})
	}
	return pr, nil
}
