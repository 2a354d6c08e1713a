package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/forecast"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/usage"
	"github.com/hashicorp/go-hclog"
)

// bidder is a client's forecast→bid loop for the services of its own
// config: each committed plan marks an epoch boundary; it then measures
// what each service used while the previous plan was in force, reports
// those actuals, feeds them to one forecast.Online per (service, resource),
// and bids the forecast for the epoch after the next solve — one batched
// PUT /v1/bids for this node.
type bidder struct {
	api      *api.Client
	node     string
	log      hclog.Logger
	reader   *usage.Reader
	services []bidding.Service // config service blocks that name a cgroup
	deadband float64

	registered map[string]bool
	models     map[string]*forecast.Online // "service/resource"
	interval   time.Duration               // epoch length, from the replicated settings
	prev       *bidding.Plan
	failing    map[string]bool // services whose last read failed (warned once)
	regNames   []string        // regressors any local service names (sorted)
	regWarned  map[string]bool // "name" or "service/name" already warned about
	now        func() time.Time
}

// bidHorizon: a sample taken when plan E is committed covers epoch E-1;
// the bid made then is for epoch E+1, two steps ahead.
const bidHorizon = 2

// bidLoop runs the bidder for this agent's service blocks until ctx ends.
// It does nothing when no service block names a cgroup, or no cgroup
// hierarchy can be read; it never stops the agent.
func (a *Agent) bidLoop(ctx context.Context) {
	log := a.log.Named("bidder")
	var svcs []bidding.Service
	var skipped []string
	for _, s := range a.cfg.Services {
		if s.Cgroup == "" {
			skipped = append(skipped, s.Name)
			continue
		}
		svcs = append(svcs, s)
	}
	if len(skipped) > 0 {
		log.Warn("services without a cgroup are not measured, forecast or bid for", "services", strings.Join(skipped, ","))
	}
	if len(svcs) == 0 {
		return
	}
	ucfg := a.usageCfg
	if ucfg == nil {
		c, err := usage.Detect(a.cfg.Enforce, "")
		if err != nil {
			log.Warn("cannot measure service usage: no bids will be sent", "error", err)
			return
		}
		ucfg = &c
	}
	c := *ucfg
	c.Parent = a.cfg.CgroupParent
	b := &bidder{api: a.localAPI(), node: a.cfg.NodeName, log: log, reader: usage.New(c), services: svcs,
		deadband: bidding.DefaultOptions().Deadband, registered: map[string]bool{}, models: map[string]*forecast.Online{},
		failing: map[string]bool{}, now: time.Now, regNames: regressorNames(svcs), regWarned: map[string]bool{}}
	b.run(ctx)
}

func (b *bidder) run(ctx context.Context) {
	const minBackoff, maxBackoff = 500 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
		return true
	}
	var index uint64
	for ctx.Err() == nil {
		if err := b.register(ctx); err != nil {
			b.log.Debug("registering local services", "error", err)
		}
		var p bidding.Plan
		_, err := b.api.Do(ctx, "GET", fmt.Sprintf("/v1/plan?index=%d&wait=60s", index), nil, &p)
		var ae *api.Error
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !(errors.As(err, &ae) && ae.Code == 404) { // 404: no plan yet
				b.log.Debug("plan watch failed", "error", err)
			}
			if !wait() {
				return
			}
			continue
		}
		if p.Index <= index {
			continue
		}
		index = p.Index
		if err := b.epoch(ctx, p); err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("bidding failed; the next epoch tries again", "epoch", p.Epoch+1, "error", err)
			if !wait() {
				return
			}
			continue
		}
		backoff = minBackoff
	}
}

// register puts each local service into the registry if it is not there
// yet (as a Consul agent registers its services); an existing registration
// (an operator's) is left alone.
func (b *bidder) register(ctx context.Context) error {
	var errs []error
	for _, s := range b.services {
		if b.registered[s.Name] {
			continue
		}
		_, err := b.api.Do(ctx, "GET", "/v1/service/"+s.Name, nil, nil)
		var ae *api.Error
		if errors.As(err, &ae) && ae.Code == 404 {
			_, err = b.api.Do(ctx, "PUT", "/v1/service/"+s.Name, s, nil)
			if err == nil {
				b.log.Info("registered local service", "service", s.Name)
			} else if errors.As(err, &ae) && ae.Code == 403 {
				b.log.Warn("cannot register local service: the agent token may not (register it as an operator)", "service", s.Name, "error", err)
				b.registered[s.Name] = true // do not ask again every epoch
				continue
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", s.Name, err))
			continue
		}
		b.registered[s.Name] = true
	}
	return errors.Join(errs...)
}

// epoch handles one newly committed plan p: sample, observe, report, bid.
func (b *bidder) epoch(ctx context.Context, p bidding.Plan) error {
	prev := b.prev
	b.prev = &p
	b.refreshSettings(ctx)
	at := p.Created
	if at.IsZero() {
		at = b.now()
	}
	// The interval just sampled is exactly the previous epoch only when
	// no plan was missed in between.
	whole := prev != nil && p.Epoch == prev.Epoch+1
	rep := fsm.UsageReport{Node: b.node, Epoch: p.Epoch - 1}
	regs := b.regressors(ctx)
	var bids []bidding.Bid
	for _, s := range b.services {
		u, err := b.reader.Read(s.Name, enforce.Target{Cgroup: s.Cgroup, Interface: s.Interface}, b.now())
		switch {
		case err != nil && !b.failing[s.Name]:
			b.log.Warn("reading usage", "service", s.Name, "error", err)
			b.failing[s.Name] = true
		case err != nil:
			b.log.Debug("reading usage", "service", s.Name, "error", err)
		case b.failing[s.Name]:
			b.log.Info("reading usage works again", "service", s.Name)
			delete(b.failing, s.Name)
		}
		actual := map[string]int64{}
		bid := bidding.Bid{Service: s.Name, Node: b.node, Epoch: p.Epoch + 1,
			Resources: map[string]bidding.Quantiles{}, ForecastError: map[string]bidding.ForecastError{}}
		for _, r := range bidding.Resources() {
			if !u.Have[r] {
				continue
			}
			v := u.Value[r]
			actual[r.String()] = int64(math.Round(math.Min(v, float64(bidding.MaxQuantity))))
			m, err := b.model(s, r)
			if err != nil {
				return err
			}
			if m == nil { // the epoch length is not known yet
				continue
			}
			if regs != nil {
				if missing := feedRegressors(m, s, regs); len(missing) > 0 {
					b.warnMissing(s.Name, missing)
				}
			}
			m.Observe(at, v)
			q, err := m.Forecast()
			if err != nil || len(q) == 0 {
				continue
			}
			bid.Resources[r.String()] = bidrule.ClientBid(r, s.Class, q[len(q)-1], b.deadband)
			bid.ForecastError[r.String()] = bidrule.ForecastError(m.Metrics())
		}
		if whole && p.Epoch > 1 && len(actual) > 0 {
			rep.Services = append(rep.Services, fsm.ServiceUsage{Service: s.Name, Actual: actual})
		}
		if len(bid.Resources) > 0 {
			bids = append(bids, bid)
		}
	}
	var errs []error
	if len(rep.Services) > 0 {
		if _, err := b.api.Do(ctx, "PUT", "/v1/usage", rep, nil); err != nil {
			errs = append(errs, fmt.Errorf("reporting usage of epoch %d: %w", rep.Epoch, err))
		}
	}
	if len(bids) > 0 {
		if _, err := b.api.Do(ctx, "PUT", "/v1/bids", bids, nil); err != nil {
			errs = append(errs, fmt.Errorf("bidding for epoch %d: %w", p.Epoch+1, err))
		}
	}
	return errors.Join(errs...)
}

// regressors fetches this epoch's regressor values for the local services
// (nil when none names any, or when the read failed: the forecasters keep
// what they were fed before).
func (b *bidder) regressors(ctx context.Context) map[string][]fsm.RegressorPoint {
	if len(b.regNames) == 0 {
		return nil
	}
	vals, err := b.fetchRegressors(ctx, b.regNames)
	if err != nil {
		if !b.regWarned[""] {
			b.log.Warn("cannot read regressors; forecasting with the values already fed", "error", err)
			b.regWarned[""] = true
		} else {
			b.log.Debug("cannot read regressors", "error", err)
		}
		return nil
	}
	delete(b.regWarned, "")
	return vals
}

// warnMissing warns once per (service, regressor) that has no values yet.
func (b *bidder) warnMissing(service string, names []string) {
	for _, n := range names {
		if k := service + "/" + n; !b.regWarned[k] {
			b.log.Warn("regressor has no values (PUT /v1/regressors); the forecast does without it until it has", "service", service, "regressor", n)
			b.regWarned[k] = true
		}
	}
}

// model is the forecaster of (service, resource), created once the epoch
// length is known (nil before).
func (b *bidder) model(s bidding.Service, r bidding.Resource) (*forecast.Online, error) {
	k := s.Name + "/" + r.String()
	if m, ok := b.models[k]; ok {
		return m, nil
	}
	if b.interval == 0 {
		return nil, nil
	}
	m, err := newForecaster(s, b.interval)
	if err != nil {
		return nil, fmt.Errorf("forecaster for %s %s: %w", s.Name, r, err)
	}
	b.models[k] = m
	return m, nil
}

// regressorRefitEvery is how often (in epochs) the forecaster of a service
// that names regressors refits. forecast binds regressor values to its grid
// only at a refit (steps past the last value known then repeat it until the
// next one), so a refit every epoch is what lets the values posted since —
// the future ones above all (an event announced, a revised weather
// forecast) — reach the bid; with the default cycle (up to a day of
// epochs) they would arrive too late. The cost is one fit per epoch and
// resource of such a service.
const regressorRefitEvery = 1

// newForecaster builds the forecaster of one of service s's resources for
// epochs of length interval: the service's model (default auto), the bid
// horizon, and a shorter refit cycle when the service names regressors.
func newForecaster(s bidding.Service, interval time.Duration) (*forecast.Online, error) {
	cfg := forecast.Config{Interval: interval, Horizon: bidHorizon, Model: "auto"}
	if f := s.Forecast; f != nil {
		if f.Model != "" {
			cfg.Model = f.Model
		}
		if len(f.Regressors) > 0 {
			cfg.RefitEvery = regressorRefitEvery
		}
	}
	m, err := forecast.NewOnline(cfg)
	if err != nil {
		return nil, fmt.Errorf("new forecaster: %w", err)
	}
	return m, nil
}

// regressorNames is the sorted union of the regressors the services name.
func regressorNames(svcs []bidding.Service) []string {
	var names []string
	for _, s := range svcs {
		if s.Forecast == nil {
			continue
		}
		for _, r := range s.Forecast.Regressors {
			if !slices.Contains(names, r) {
				names = append(names, r)
			}
		}
	}
	slices.Sort(names)
	return names
}

// fetchRegressors reads the values of the named regressors (GET
// /v1/regressors?name=...). A failure is returned; the caller keeps the
// values its forecasters already hold.
func (b *bidder) fetchRegressors(ctx context.Context, names []string) (map[string][]fsm.RegressorPoint, error) {
	q := url.Values{"name": names}
	var v api.RegressorsView
	if _, err := b.api.Do(ctx, "GET", "/v1/regressors?"+q.Encode(), nil, &v); err != nil {
		return nil, fmt.Errorf("reading regressors %s: %w", strings.Join(names, ","), err)
	}
	return v.Regressors, nil
}

// feedRegressors passes service s's regressor values to its forecaster m:
// every stored point, past (aligned by forecast to the observations'
// grid) and future (the horizon). forecast keys points by time, so feeding
// the same point every epoch is harmless and a revised value replaces the
// old one. A regressor with no values is simply absent from the model
// (forecast then fits without it); grid points between values take the
// nearest earlier value (before the first: the first), and steps past the
// last value repeat it. It returns the names without values.
func feedRegressors(m *forecast.Online, s bidding.Service, vals map[string][]fsm.RegressorPoint) []string {
	if s.Forecast == nil {
		return nil
	}
	var missing []string
	for _, name := range s.Forecast.Regressors {
		pts := vals[name]
		if len(pts) == 0 {
			missing = append(missing, name)
			continue
		}
		for _, p := range pts {
			m.ObserveRegressor(name, p.Time, p.Value)
		}
	}
	return missing
}

// refreshSettings reads the cluster's replicated settings: the deadband
// (server.solver) by which memory bids are padded, and, once, the epoch
// length the forecasters are built with. On error the last ones stay.
func (b *bidder) refreshSettings(ctx context.Context) {
	var st fsm.Settings
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := b.api.Do(cctx, "GET", "/v1/settings", nil, &st); err != nil {
		b.log.Debug("reading the cluster's settings; keeping the last ones", "error", err)
		return
	}
	b.deadband = st.Options.Deadband
	if b.interval == 0 && st.EpochMS > 0 {
		b.interval = time.Duration(st.EpochMS) * time.Millisecond
		b.log.Info("epoch length from the cluster's settings", "interval", b.interval)
	}
}
