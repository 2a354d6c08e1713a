package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Amounts are per-resource figures in the flags' units: cores, bytes,
// bytes/s, bits/s. Only the resources in use are present.
type Amounts struct {
	CPU    *float64 `json:"cpu,omitempty"`
	Memory *float64 `json:"memory,omitempty"`
	IO     *float64 `json:"io,omitempty"`
	Net    *float64 `json:"net,omitempty"`
}

func (a *Amounts) set(r bidding.Resource, v float64) {
	p := &v
	switch r {
	case bidding.CPU:
		a.CPU = p
	case bidding.Memory:
		a.Memory = p
	case bidding.IO:
		a.IO = p
	case bidding.Net:
		a.Net = p
	}
}

// Get returns resource r's figure and whether it is present.
func (a Amounts) Get(r bidding.Resource) (float64, bool) {
	var p *float64
	switch r {
	case bidding.CPU:
		p = a.CPU
	case bidding.Memory:
		p = a.Memory
	case bidding.IO:
		p = a.IO
	case bidding.Net:
		p = a.Net
	}
	if p == nil {
		return 0, false
	}
	return *p, true
}

// Line is one step's report: what was asked for and what the process got.
// Step is the absolute step number on the clock that starts at --start;
// T is when the step ended; Secs its length.
type Line struct {
	T      string   `json:"t"`
	Step   int      `json:"step"`
	Secs   float64  `json:"secs"`
	Asked  Amounts  `json:"asked"`
	Got    Amounts  `json:"got"`
	Listen string   `json:"listen,omitempty"` // a sink's address
	Errors []string `json:"errors,omitempty"`
}

// Run generates the load o asks for, one step at a time, writing a Line per
// step to out, until o.Duration has passed (counted from o.Start; a last
// step is cut at it), the trace ends (without --loop) or ctx ends.
//
// Step n runs over [start + n·step, start + (n+1)·step) and replays trace
// row n; start is o.Start, or now when it is zero. Before start Run waits,
// idle and silent; after it, Run joins at the step the clock says, that
// step cut short. Whenever the clock has left a step behind (a late start,
// a stalled process) the steps missed are skipped, not replayed. A step
// cut short by ctx is still reported; one shorter than 1 ms is not.
func Run(ctx context.Context, o Options, out io.Writer) error {
	var trs []*Trace
	if o.Trace != "" {
		var err error
		if trs, err = ReadTraceFileColumns(o.Trace, o.cols); err != nil {
			return fmt.Errorf("--trace: %w", err)
		}
	}
	wctx, stopWork := context.WithCancel(context.Background())
	defer stopWork()

	use := o.Uses()
	var (
		cpu  *cpuBurner
		mem  *memHolder
		iow  *ioWriter
		snd  *netSender
		sink *sink
	)
	if o.Listen != "" {
		s, err := listen(o.Listen)
		if err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		sink = s
		sink.run(wctx)
		defer sink.close()
	}
	if use[bidding.CPU] {
		cpu = newCPUBurner()
		defer cpu.close()
	}
	if use[bidding.Memory] {
		mem = newMemHolder(o.MemoryOf)
		defer mem.close()
	}
	if use[bidding.IO] {
		w, err := openIO(o.IOFile, o.Step)
		if err != nil {
			return err
		}
		iow = w
		iow.run(wctx)
		defer iow.close()
	}
	if use[bidding.Net] {
		snd = newNetSender(o.To, o.Step)
		snd.run(wctx)
		defer snd.close()
	}
	defer stopWork() // runs before the closes above: they wait for the workers

	enc := json.NewEncoder(out)
	var overhead float64 // cores the process used beyond its workers in the last step
	start := o.Start
	if start.IsZero() {
		start = time.Now()
	}
	if wait := time.Until(start); wait > 0 { // no load and no line before start
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
	stop := start.Add(o.Duration) // steps are cut at the duration, so there are at most ceil(duration/step)
	var prev *counters            // where the last step was measured
	for n := 0; ctx.Err() == nil && (o.Duration == 0 || time.Now().Before(stop)); n++ {
		if now := int(time.Since(start) / o.Step); now > n {
			n = now // the step the clock says: joined late, or fell behind
		}
		asked := [bidding.NumResources]float64{o.CPU, o.Memory, o.IO, o.Net}
		for i, tr := range trs {
			v, ok := tr.At(n, o.Loop)
			if !ok {
				return nil // the trace has ended
			}
			asked[o.drives[i]] = v * o.Scale
		}
		var line Line
		line.Step = n
		t0 := time.Now()
		cpu0, _ := cpuTime()
		var io0, net0, recv0 int64
		var own0 time.Duration
		if cpu != nil {
			// The process's own work (runtime, touching memory, reporting)
			// is part of what it uses: the workers spin for what is asked
			// less that, as measured over the last step, so the process
			// uses what the trace says, not that plus the generator.
			cpu.set(max(0, asked[bidding.CPU]-overhead))
			own0 = cpu.own()
		}
		if mem != nil {
			if err := mem.set(int64(asked[bidding.Memory])); err != nil {
				line.Errors = append(line.Errors, "memory: "+err.Error())
			}
		}
		if iow != nil {
			io0 = iow.pace.done.Load()
			iow.setRate(asked[bidding.IO], t0)
		}
		if snd != nil {
			net0 = snd.pace.done.Load()
			snd.setRate(asked[bidding.Net], t0)
		}
		if sink != nil {
			recv0 = sink.recv.Load()
			line.Listen = sink.addr()
		}

		if prev != nil {
			// This step counts from where the last one was measured, so
			// that nothing done in between (reporting, touching memory, a
			// step the clock skipped) falls between two lines.
			t0, cpu0, own0, io0, net0, recv0 = prev.t, prev.cpu, prev.own, prev.io, prev.net, prev.recv
		}
		end := start.Add(time.Duration(n+1) * o.Step)
		if o.Duration > 0 && end.After(stop) {
			end = stop
		}
		timer := time.NewTimer(time.Until(end))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()

		t1 := time.Now()
		secs := t1.Sub(t0).Seconds()
		if secs < 0.001 {
			continue // cut short (ctx, --duration) or joined at its very end: nothing to report
		}
		line.T = t1.UTC().Format(time.RFC3339Nano)
		line.Secs = secs
		next := &counters{t: t1}
		for r, u := range use {
			if u {
				line.Asked.set(bidding.Resource(r), asked[r])
			}
		}
		if cpu != nil {
			cpu1, err := cpuTime()
			if err != nil {
				line.Errors = append(line.Errors, "cpu: "+err.Error())
			}
			own1 := cpu.own()
			line.Got.set(bidding.CPU, (cpu1-cpu0).Seconds()/secs)
			if o := ((cpu1 - cpu0) - (own1 - own0)).Seconds() / secs; o >= 0 && o < 0.5 {
				overhead = o
			}
			next.cpu, next.own = cpu1, own1
		}
		if mem != nil {
			res, err := mem.footprint()
			if err != nil {
				line.Errors = append(line.Errors, "memory: "+err.Error())
			}
			line.Got.set(bidding.Memory, float64(res))
		}
		if iow != nil {
			next.io = iow.pace.done.Load()
			line.Got.set(bidding.IO, float64(next.io-io0)/secs)
			if err := iow.takeErr(); err != nil {
				line.Errors = append(line.Errors, "io: "+err.Error())
			}
		}
		if snd != nil {
			next.net = snd.pace.done.Load()
			line.Got.set(bidding.Net, float64(next.net-net0)*8/secs)
			if err := snd.takeErr(); err != nil {
				line.Errors = append(line.Errors, "net: "+err.Error())
			}
		}
		if sink != nil {
			next.recv = sink.recv.Load()
			line.Got.set(bidding.Net, float64(next.recv-recv0)*8/secs)
		}
		prev = next
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	return nil
}

// counters are a step's end readings, where the next step starts counting.
type counters struct {
	t        time.Time
	cpu, own time.Duration
	io, net  int64
	recv     int64
}
