package live

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/sim"
)

// leadSteps are trace steps replayed before the evaluated window (the last
// ones of the warm-up, not imported): the client observes them and bids,
// so that plans for the window's first epoch exist when it starts (a bid
// made when plan E is committed is for E+1, from usage measured over E−1).
const leadSteps = 2

// resources a loadgen replays (io and net are not part of the live run:
// see DESIGN.md).
var liveResources = []bidding.Resource{bidding.CPU, bidding.Memory}

// svcFiles are one service's generated files.
type svcFiles struct {
	Trace   string // loadgen's trace: leadSteps + window rows, columns named by resource
	Columns string // "cpu" or "cpu,memory"
	History string // `allot usage import` CSV: the warm-up before the lead steps
}

// writeTraces writes, for every service of w, the trace its loadgen
// replays (cores and bytes) and the history imported before the run
// (millicores and bytes, five-minute timestamps ending before now).
func writeTraces(w *sim.World, dir string, now time.Time) (map[string]svcFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if w.Warmup < leadSteps+1 {
		return nil, fmt.Errorf("the scenario's warm-up (%d steps) is shorter than the %d lead steps", w.Warmup, leadSteps)
	}
	out := map[string]svcFiles{}
	for _, s := range w.Svcs {
		var res []bidding.Resource
		for _, r := range liveResources {
			if s.Has[r] {
				res = append(res, r)
			}
		}
		for r := range bidding.NumResources {
			if s.Has[r] && bidding.Resource(r) != bidding.CPU && bidding.Resource(r) != bidding.Memory {
				return nil, fmt.Errorf("service %s: the live run replays cpu and memory only, not %s", s.Def.Name, bidding.Resource(r))
			}
		}
		names := make([]string, len(res))
		for i, r := range res {
			names[i] = r.String()
		}
		f := svcFiles{Trace: filepath.Join(dir, s.Def.Name+".csv"), History: filepath.Join(dir, s.Def.Name+"-history.csv"), Columns: strings.Join(names, ",")}
		first := w.Warmup - leadSteps
		err := writeCSV(f.Trace, names, first, w.Warmup+w.Steps, func(i int, r bidding.Resource) string {
			v := s.Demand[r][i]
			if r == bidding.CPU {
				return strconv.FormatFloat(v/1000, 'f', 4, 64) // cores
			}
			return strconv.FormatFloat(v, 'f', 0, 64)
		}, res, nil)
		if err != nil {
			return nil, err
		}
		t0 := now.Add(-time.Duration(first) * w.Epoch).Truncate(time.Second)
		err = writeCSV(f.History, append([]string{"time"}, names...), 0, first, func(i int, r bidding.Resource) string {
			return strconv.FormatFloat(s.Demand[r][i], 'f', 0, 64)
		}, res, func(i int) string { return strconv.FormatInt(t0.Add(time.Duration(i)*w.Epoch).Unix(), 10) })
		if err != nil {
			return nil, err
		}
		out[s.Def.Name] = f
	}
	return out, nil
}

func writeCSV(path string, header []string, from, to int, val func(int, bidding.Resource) string, res []bidding.Resource, stamp func(int) string) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(fh)
	fmt.Fprintln(bw, strings.Join(header, ","))
	for i := from; i < to; i++ {
		var row []string
		if stamp != nil {
			row = append(row, stamp(i))
		}
		for _, r := range res {
			row = append(row, val(i, r))
		}
		fmt.Fprintln(bw, strings.Join(row, ","))
	}
	if err := bw.Flush(); err != nil {
		fh.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return fh.Close()
}
