package api

import (
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// defaultBidEpochs gives every bid without an epoch (0, or left out of the
// JSON) the next epoch: the one after the latest committed plan, as the
// leader sees it when it applies the write. A hand-written bid then never
// goes stale by hard-coding an epoch the cluster has left behind.
func defaultBidEpochs(f *fsm.FSM, bids []bidding.Bid) {
	var next uint64
	for i := range bids {
		if bids[i].Epoch != 0 {
			continue
		}
		if next == 0 {
			p, _ := f.LatestPlan()
			next = p.Epoch + 1
		}
		bids[i].Epoch = next
	}
}
