package metrics

import (
	"fmt"
	"sync"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	gmprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// librarySink is the one go-metrics sink of the process. hashicorp/raft and
// memberlist report through go-metrics' process-wide global (they take no
// sink of their own), so the bridge is necessarily one per process: every
// agent's registry collects the same sink. With one agent per process (any
// real deployment) the raft_* and memberlist_* series are that agent's; in
// a test running several agents in one process they are all of theirs.
var librarySink struct {
	once sync.Once
	sink *gmprom.PrometheusSink
	err  error
}

// BridgeLibraries installs (once per process) a go-metrics Prometheus sink
// as go-metrics' global and adds it to this registry, so raft's and
// memberlist's telemetry (raft_*, memberlist_*) is served with Allot's.
// Series a library stops updating expire after a minute.
func (r *Registry) BridgeLibraries() error {
	librarySink.once.Do(func() {
		sink, err := gmprom.NewPrometheusSinkFrom(gmprom.PrometheusOpts{
			Expiration: time.Minute,
			// The sink insists on registering itself somewhere; a private
			// registry keeps it off prometheus.DefaultRegisterer.
			Registerer: prometheus.NewRegistry(),
			Name:       "allot_library_metrics_sink",
		})
		if err != nil {
			librarySink.err = fmt.Errorf("making the go-metrics prometheus sink: %w", err)
			return
		}
		cfg := gometrics.DefaultConfig("") // keys as the libraries name them: raft.*, memberlist.*
		cfg.EnableHostname = false
		cfg.EnableRuntimeMetrics = false // the Go collector has them
		cfg.EnableServiceLabel = false
		if _, err := gometrics.NewGlobal(cfg, sink); err != nil {
			librarySink.err = fmt.Errorf("installing the go-metrics global: %w", err)
			return
		}
		librarySink.sink = sink
	})
	if librarySink.err != nil {
		return librarySink.err
	}
	if err := r.reg.Register(librarySink.sink); err != nil {
		return fmt.Errorf("registering raft and memberlist metrics: %w", err)
	}
	return nil
}
