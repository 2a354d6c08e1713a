package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// seasonal returns n points of level + amp*sin(2*pi*t/p) (+ slope*t).
func seasonal(n, p int, level, amp, slope float64) []float64 {
	y := make([]float64, n)
	for t := range y {
		y[t] = level + amp*math.Sin(2*math.Pi*float64(t)/float64(p)) + slope*float64(t)
	}
	return y
}

func noisy(y []float64, sd float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, len(y))
	for i, v := range y {
		out[i] = v + sd*r.NormFloat64()
	}
	return out
}

func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func fitForecast(t *testing.T, m Model, y []float64, h int) []float64 {
	t.Helper()
	if err := m.Fit(y); err != nil {
		t.Fatalf("%s fit: %v", m.Name(), err)
	}
	f, err := m.Forecast(h)
	if err != nil {
		t.Fatalf("%s forecast: %v", m.Name(), err)
	}
	if len(f) != h || !allFinite(f) {
		t.Fatalf("%s forecast: got %v", m.Name(), f)
	}
	return f
}

// A pure seasonal series is forecast (almost) exactly by the seasonal models.
func TestPureSeasonalExact(t *testing.T) {
	const p, n, h = 24, 24 * 20, 48
	full := seasonal(n+h, p, 100, 10, 0)
	y, want := full[:n], full[n:]
	cases := []struct {
		model Model
		tol   float64
	}{
		{NewSNaive(p), 1e-9},
		{NewSMean(p, 7), 1e-9},
		{NewNaive2(p), 1e-6},
		{NewETS(ETSConfig{Period: p, Trend: TrendNone, Season: SeasonAdd}), 1e-3},
		{NewETS(ETSConfig{Period: p, Trend: TrendAuto, Season: SeasonAuto}), 1e-2},
		{NewTheta(p), 0.5},
		{NewMSTL(MSTLConfig{Periods: []int{p}}), 0.2},
		{NewProphet(ProphetConfig{Periods: []int{p}}), 0.05},
		{NewAuto(AutoConfig{Spec: Spec{Periods: []int{p}, Horizon: h}}), 0.2},
	}
	for _, c := range cases {
		t.Run(c.model.Name(), func(t *testing.T) {
			got := fitForecast(t, c.model, y, h)
			if d := maxAbsDiff(got, want); d > c.tol {
				t.Errorf("max error %g > %g", d, c.tol)
			}
		})
	}
}

// A two-season series (daily within weekly) is forecast exactly by MSTL and
// weekly seasonal naive.
func TestMultiSeasonalExact(t *testing.T) {
	const d, w, h = 24, 168, 48
	n := 4 * w
	y := make([]float64, n+h)
	for i := range y {
		day := float64((i / d) % 7)
		y[i] = 50 + 10*math.Sin(2*math.Pi*float64(i)/d) + 3*day
	}
	for _, m := range []Model{NewSNaive(w), NewSMean(w, 4), NewMSTL(MSTLConfig{Periods: []int{d, w}})} {
		got := fitForecast(t, m, y[:n], h)
		if e := maxAbsDiff(got, y[n:]); e > 0.5 {
			t.Errorf("%s: max error %g", m.Name(), e)
		}
	}
}

// A linear trend is extrapolated by the trend models.
func TestLinearTrendExtrapolated(t *testing.T) {
	const n, h = 200, 24
	full := seasonal(n+h, 1, 10, 0, 0.5)
	cases := []struct {
		model Model
		tol   float64
	}{
		{NewETS(ETSConfig{Trend: TrendLinear, Season: SeasonNone}), 1e-6},
		{NewProphet(ProphetConfig{}), 0.05},
	}
	for _, c := range cases {
		got := fitForecast(t, c.model, full[:n], h)
		if d := maxAbsDiff(got, full[n:]); d > c.tol {
			t.Errorf("%s: max error %g > %g (got %v)", c.model.Name(), d, c.tol, got[:3])
		}
	}
}

// Trend with seasonality: Prophet and seasonal naive with drift recover
// both.
func TestTrendSeason(t *testing.T) {
	const p, n, h = 24, 24 * 14, 48
	full := seasonal(n+h, p, 100, 10, 0.2)
	cases := []struct {
		model Model
		tol   float64
	}{
		{NewProphet(ProphetConfig{Periods: []int{p}}), 0.5},
		{NewSDrift(p, 7), 1e-9},
	}
	for _, c := range cases {
		got := fitForecast(t, c.model, full[:n], h)
		if d := maxAbsDiff(got, full[n:]); d > c.tol {
			t.Errorf("%s: max error %g", c.model.Name(), d)
		}
	}
}

// Events and external regressors are fitted and used in the forecast.
func TestProphetEventsRegressors(t *testing.T) {
	const n, h = 300, 10
	x := make([]float64, n+h)
	y := make([]float64, n+h)
	var ev []int
	for i := range x {
		x[i] = float64((i * 7) % 13)
		y[i] = 20 + 2*x[i]
		if i%50 == 10 {
			ev = append(ev, i)
			y[i] += 30
		}
	}
	m := NewProphet(ProphetConfig{
		Events:     []Event{{Name: "deploy", Steps: ev}},
		Regressors: []Regressor{{Name: "load", Values: x}},
		Penalty:    1e-6,
	})
	got := fitForecast(t, m, y[:n], h)
	if d := maxAbsDiff(got, y[n:]); d > 0.5 {
		t.Errorf("max error %g: got %v want %v", d, got, y[n:])
	}
}

func TestSeasonalityTest(t *testing.T) {
	if !SeasonalityTest(seasonal(240, 24, 10, 3, 0), 24) {
		t.Error("pure seasonal series not detected")
	}
	if SeasonalityTest(noisy(make([]float64, 240), 1, 3), 24) {
		t.Error("white noise detected as seasonal")
	}
	if SeasonalityTest(seasonal(60, 24, 10, 3, 0), 24) {
		t.Error("n < 3m must not be seasonal")
	}
}

func TestNaive2NonPositiveIsNonSeasonal(t *testing.T) {
	y := seasonal(240, 24, 0, 3, 0)
	m := NewNaive2(24)
	f := fitForecast(t, m, y, 5)
	if m.Seasonal() {
		t.Error("series with non-positive values used multiplicative indices")
	}
	for _, v := range f {
		if v != y[len(y)-1] {
			t.Fatalf("want naive forecast %g, got %v", y[len(y)-1], f)
		}
	}
}

// Update keeps a model consistent with refitting on the longer history for
// models whose state is just the data.
func TestUpdateMatchesFit(t *testing.T) {
	y := noisy(seasonal(300, 24, 50, 5, 0), 1, 7)
	for _, name := range []string{"snaive", "naive", "naive2"} {
		a, _ := NewModel(name, Spec{Periods: []int{24}})
		b, _ := NewModel(name, Spec{Periods: []int{24}})
		if err := a.Fit(y[:250]); err != nil {
			t.Fatal(err)
		}
		for _, v := range y[250:] {
			a.Update(v)
		}
		fa, _ := a.Forecast(30)
		fb := fitForecast(t, b, y, 30)
		if name != "naive2" && maxAbsDiff(fa, fb) > 1e-9 {
			t.Errorf("%s: update and refit differ", name)
		}
		if !allFinite(fa) {
			t.Errorf("%s: non-finite after update", name)
		}
	}
}

func TestNotFitted(t *testing.T) {
	for _, name := range ModelNames() {
		m, err := NewModel(name, Spec{Periods: []int{24, 168}, Horizon: 4})
		if err != nil {
			t.Fatal(err)
		}
		m.Update(1) // must not panic
		if _, err := m.Forecast(4); !errors.Is(err, ErrNotFitted) {
			t.Errorf("%s: forecast before fit: err %v, want ErrNotFitted", name, err)
		}
	}
}

func TestUnknownModel(t *testing.T) {
	if _, err := NewModel("lstm-xl", Spec{}); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("err %v", err)
	}
	if _, err := NewModel("ets", Spec{Periods: []int{0}}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("err %v", err)
	}
}

// Auto prefers the seasonal models on a seasonal series and beats naive.
func TestAutoSelects(t *testing.T) {
	const p, n, h = 24, 24 * 30, 24
	full := noisy(seasonal(n+h, p, 100, 20, 0), 1, 11)
	a := NewAuto(AutoConfig{Spec: Spec{Periods: []int{p, 168}, Horizon: h}})
	got := fitForecast(t, a, full[:n], h)
	nv := fitForecast(t, NewSNaive(1), full[:n], h)
	if MASE(full[:n], full[n:], got, p) >= MASE(full[:n], full[n:], nv, p) {
		t.Errorf("auto (%s) not better than naive", a.Name())
	}
	if len(a.Residuals()) != h {
		t.Errorf("residuals for %d steps, want %d", len(a.Residuals()), h)
	}
}

// Short histories fall back to simpler candidates instead of failing.
func TestAutoShortHistory(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 10, 30} {
		y := seasonal(n, 24, 5, 1, 0)
		a := NewAuto(AutoConfig{Spec: Spec{Periods: []int{24, 168}, Horizon: 12}})
		fitForecast(t, a, y, 12)
	}
}
