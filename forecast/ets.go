package forecast

import (
	"fmt"
	"math"
)

// Trend and seasonal component choices for ETS.
type (
	// TrendKind selects the trend component.
	TrendKind int
	// SeasonKind selects the seasonal component.
	SeasonKind int
)

// Trend kinds.
const (
	TrendAuto   TrendKind = iota // choose by AIC
	TrendNone                    // level only
	TrendDamped                  // additive damped trend
	TrendLinear                  // additive undamped trend (Holt)
)

// Season kinds.
const (
	SeasonAuto SeasonKind = iota // choose by AIC (multiplicative only for positive data)
	SeasonNone
	SeasonAdd
	SeasonMul
)

// ETSConfig configures exponential smoothing.
type ETSConfig struct {
	Period int // seasonal period in steps; <= 1 means non-seasonal
	Trend  TrendKind
	Season SeasonKind
}

// ETS is exponential smoothing with additive errors (Holt-Winters family):
// level, optional damped trend and optional additive or multiplicative
// seasonality. Smoothing parameters and damping are fitted by Nelder-Mead on
// the in-sample one-step squared error; with Auto kinds the variant with the
// lowest AIC wins.
type ETS struct {
	cfg    ETSConfig
	st     etsState
	fitted bool
}

type etsParams struct {
	trend              TrendKind
	season             SeasonKind
	m                  int
	alpha, beta, gamma float64
	phi                float64
}

type etsState struct {
	p    etsParams
	l, b float64
	s    []float64 // ring of seasonal states; s[t%m] is the state for phase t
	t    int       // number of observations absorbed
	ph   int       // t mod len(s)
}

// NewETS returns an exponential smoothing model.
func NewETS(cfg ETSConfig) *ETS { return &ETS{cfg: cfg} }

// Name implements Model.
func (e *ETS) Name() string {
	if e.fitted {
		return "ets(" + e.st.p.label() + ")"
	}
	return "ets"
}

func (p etsParams) label() string {
	t := "N"
	switch p.trend {
	case TrendDamped:
		t = "Ad"
	case TrendLinear:
		t = "A"
	}
	s := "N"
	switch p.season {
	case SeasonAdd:
		s = "A"
	case SeasonMul:
		s = "M"
	}
	return "A," + t + "," + s
}

// Fit implements Model.
func (e *ETS) Fit(y []float64) error {
	if len(y) < 4 {
		return fmt.Errorf("ets fit on %d points: %w", len(y), ErrTooShort)
	}
	m := e.cfg.Period
	seasonal := m > 1 && len(y) >= 2*m+4
	positive := true
	for _, v := range y {
		if v <= 0 {
			positive = false
			break
		}
	}
	var trends []TrendKind
	if e.cfg.Trend == TrendAuto {
		trends = []TrendKind{TrendNone, TrendDamped}
	} else {
		trends = []TrendKind{e.cfg.Trend}
	}
	var seasons []SeasonKind
	switch {
	case !seasonal || e.cfg.Season == SeasonNone:
		seasons = []SeasonKind{SeasonNone}
	case e.cfg.Season == SeasonAuto && positive:
		seasons = []SeasonKind{SeasonAdd, SeasonMul}
	case e.cfg.Season == SeasonAuto || (e.cfg.Season == SeasonMul && !positive):
		seasons = []SeasonKind{SeasonAdd}
	default:
		seasons = []SeasonKind{e.cfg.Season}
	}
	// Choose the seasonal form without trend first, then the trend for that
	// form only (3 fits instead of 4 for the automatic choice).
	best := math.Inf(1)
	var bestState etsState
	try := func(tr TrendKind, se SeasonKind) {
		mm := m
		if se == SeasonNone {
			mm = 1
		}
		st, sse := fitETS(y, tr, se, mm)
		if aic := etsAIC(len(y), sse, tr, se); aic < best {
			best, bestState = aic, st
		}
	}
	for _, se := range seasons {
		try(trends[0], se)
	}
	if !math.IsInf(best, 1) {
		bestSeason := bestState.p.season
		for _, tr := range trends[1:] {
			try(tr, bestSeason)
		}
	}
	if math.IsInf(best, 1) {
		return fmt.Errorf("ets fit: no variant converged: %w", ErrTooShort)
	}
	e.st = bestState
	e.fitted = true
	return nil
}

// etsAIC is the AIC of a variant from its sum of squared errors.
func etsAIC(n int, sse float64, tr TrendKind, se SeasonKind) float64 {
	k := 1.0
	switch tr {
	case TrendDamped:
		k += 2
	case TrendLinear:
		k++
	}
	if se != SeasonNone {
		k++
	}
	return float64(n)*math.Log(sse/float64(n)+1e-300) + 2*k
}

// fitETS optimises one variant and returns the state after running through y.
func fitETS(y []float64, tr TrendKind, se SeasonKind, m int) (etsState, float64) {
	p := etsParams{trend: tr, season: se, m: m, phi: 1}
	x0 := []float64{logit(0.3)}
	switch tr {
	case TrendDamped:
		x0 = append(x0, logit(0.1), logit(0.5))
	case TrendLinear:
		x0 = append(x0, logit(0.1))
	}
	if se != SeasonNone {
		x0 = append(x0, logit(0.1))
	}
	decode := func(x []float64) etsParams {
		q := p
		q.alpha = 0.0001 + 0.9998*sigmoid(x[0])
		i := 1
		switch tr {
		case TrendDamped:
			q.beta = q.alpha * sigmoid(x[i])
			q.phi = 0.8 + 0.18*sigmoid(x[i+1])
			i += 2
		case TrendLinear:
			q.beta = q.alpha * sigmoid(x[i])
			i++
		}
		if se != SeasonNone {
			q.gamma = (1 - q.alpha) * sigmoid(x[i])
		}
		return q
	}
	init := initETS(y, tr, se, m)
	work := init.clone()
	obj := func(x []float64) float64 {
		work.l, work.b, work.t, work.ph = init.l, init.b, init.t, init.ph
		copy(work.s, init.s)
		work.p = decode(x)
		return work.run(y)
	}
	step := make([]float64, len(x0))
	for i := range step {
		step[i] = 1
	}
	xb, _ := nelderMead(obj, x0, step, 40*len(x0)+30)
	st := init.clone()
	st.p = decode(xb)
	sse := st.run(y)
	return st, sse
}

func initETS(y []float64, tr TrendKind, se SeasonKind, m int) etsState {
	st := etsState{}
	if se == SeasonNone || m <= 1 {
		st.s = []float64{0}
		st.l = y[0]
		if tr != TrendNone && len(y) > 1 {
			k := min(len(y)-1, 10)
			st.b = (y[k] - y[0]) / float64(k)
		}
		return st
	}
	n := min(len(y)/m, 3)
	means := make([]float64, n)
	for c := 0; c < n; c++ {
		means[c] = mean(y[c*m : (c+1)*m])
	}
	st.l = means[0]
	if tr != TrendNone && n > 1 {
		st.b = (means[n-1] - means[0]) / float64((n-1)*m)
	}
	st.s = make([]float64, m)
	for i := 0; i < m; i++ {
		acc := 0.0
		for c := 0; c < n; c++ {
			if se == SeasonMul {
				acc += y[c*m+i] / means[c]
			} else {
				acc += y[c*m+i] - means[c]
			}
		}
		st.s[i] = acc / float64(n)
	}
	return st
}

func (s etsState) clone() etsState {
	s.s = append([]float64(nil), s.s...)
	return s
}

// step absorbs one observation and returns the one-step error.
func (s *etsState) step(v float64) float64 {
	p := s.p
	ph := s.ph
	base := s.l + p.phi*s.b
	var yhat, e float64
	switch p.season {
	case SeasonAdd:
		yhat = base + s.s[ph]
		e = v - yhat
		s.s[ph] += p.gamma * e
		s.l = base + p.alpha*e
		s.b = p.phi*s.b + p.beta*e
	case SeasonMul:
		si := s.s[ph]
		yhat = base * si
		e = v - yhat
		if si != 0 {
			s.l = base + p.alpha*e/si
			s.b = p.phi*s.b + p.beta*e/si
		}
		if base != 0 {
			s.s[ph] = si + p.gamma*e/base
		}
	default:
		yhat = base
		e = v - yhat
		s.l = base + p.alpha*e
		s.b = p.phi*s.b + p.beta*e
	}
	if p.trend == TrendNone {
		s.b = 0
	}
	s.t++
	if s.ph++; s.ph == len(s.s) {
		s.ph = 0
	}
	return e
}

// run absorbs y and returns the sum of squared one-step errors (+Inf on
// divergence).
func (s *etsState) run(y []float64) float64 {
	sse := 0.0
	for _, v := range y {
		e := s.step(v)
		sse += e * e
	}
	if !isFinite(sse) || !isFinite(s.l) {
		return math.Inf(1)
	}
	return sse
}

func (s *etsState) forecast(h int) []float64 {
	out := make([]float64, h)
	damp := 0.0
	pk := 1.0
	for k := 0; k < h; k++ {
		pk *= s.p.phi
		damp += pk
		base := s.l
		if s.p.trend != TrendNone {
			base += damp * s.b
		}
		ph := (s.t + k) % len(s.s)
		switch s.p.season {
		case SeasonAdd:
			out[k] = base + s.s[ph]
		case SeasonMul:
			out[k] = base * s.s[ph]
		default:
			out[k] = base
		}
	}
	return out
}

// Update implements Model.
func (e *ETS) Update(v float64) {
	if !e.fitted {
		return
	}
	e.st.step(v)
	if !isFinite(e.st.l) || !isFinite(e.st.b) {
		// Diverged on an extreme observation: restart from it.
		e.st.l, e.st.b = v, 0
	}
}

// Forecast implements Model.
func (e *ETS) Forecast(h int) ([]float64, error) {
	if !e.fitted {
		return nil, fmt.Errorf("ets forecast: %w", ErrNotFitted)
	}
	return e.st.forecast(h), nil
}
