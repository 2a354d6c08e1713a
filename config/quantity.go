package config

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/allot-dev/allot/bidding"
)

// ParseQuantity parses a quantity of resource r into base units:
// cpu in cores or millicores ("250m", "1.5", "2"), memory in bytes with SI or
// IEC suffixes ("256MiB", "1G", "1024"), io in bytes/s ("200MiB/s", "10MB/s"),
// net in bits/s ("500Mbit", "1Gbit", "100kbit").
func ParseQuantity(r bidding.Resource, s string) (int64, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty quantity")
	}
	var v *big.Rat
	var err error
	switch r {
	case bidding.CPU:
		if strings.HasSuffix(in, "m") {
			v, err = number(strings.TrimSuffix(in, "m"))
		} else {
			v, err = number(in)
			if err == nil {
				v.Mul(v, big.NewRat(1000, 1))
			}
		}
		if err != nil {
			return 0, fmt.Errorf("%q is not a cpu quantity (cores like \"1.5\" or millicores like \"250m\")", s)
		}
	case bidding.Memory, bidding.IO:
		t := in
		if r == bidding.IO {
			t = strings.TrimSuffix(t, "/s")
		}
		v, err = withSuffix(t, byteSuffixes, "B")
		if err != nil {
			unit := "bytes with a suffix such as KiB, MiB, GiB, MB, GB"
			if r == bidding.IO {
				unit = "bytes/s such as \"200MiB/s\""
			}
			return 0, fmt.Errorf("%q is not a %s quantity (%s)", s, r, unit)
		}
	case bidding.Net:
		t := strings.TrimSuffix(strings.TrimSuffix(in, "/s"), "ps")
		v, err = withSuffix(t, bitSuffixes, "bit")
		if err != nil {
			return 0, fmt.Errorf("%q is not a net quantity (bits/s such as \"500Mbit\", \"1Gbit\")", s)
		}
	default:
		return 0, fmt.Errorf("unknown resource %v", r)
	}
	if v.Sign() < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	f, _ := v.Float64()
	if f > float64(bidding.MaxQuantity) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	n := new(big.Int).Quo(v.Num(), v.Denom())
	return n.Int64(), nil
}

// FormatQuantity prints a base-unit quantity in a human form.
func FormatQuantity(r bidding.Resource, v int64) string {
	switch r {
	case bidding.CPU:
		if v%1000 == 0 {
			return fmt.Sprintf("%d", v/1000)
		}
		return fmt.Sprintf("%dm", v)
	case bidding.Memory:
		return human(v, 1024, []string{"B", "KiB", "MiB", "GiB", "TiB"})
	case bidding.IO:
		return human(v, 1024, []string{"B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"})
	case bidding.Net:
		return human(v, 1000, []string{"bit", "kbit", "Mbit", "Gbit", "Tbit"})
	}
	return fmt.Sprint(v)
}

func human(v int64, base float64, units []string) string {
	f := float64(v)
	i := 0
	for f >= base && i < len(units)-1 {
		f /= base
		i++
	}
	if f == math.Trunc(f) {
		return fmt.Sprintf("%.0f%s", f, units[i])
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}

var byteSuffixes = []struct {
	s string
	m int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"kB", 1e3}, {"K", 1e3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
}

var bitSuffixes = []struct {
	s string
	m int64
}{
	{"kbit", 1e3}, {"Kbit", 1e3}, {"Mbit", 1e6}, {"Gbit", 1e9}, {"Tbit", 1e12},
	{"kb", 1e3}, {"Kb", 1e3}, {"Mb", 1e6}, {"Gb", 1e9},
	{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
}

func withSuffix(s string, sufs []struct {
	s string
	m int64
}, plain string) (*big.Rat, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), plain)
	for _, x := range sufs {
		if strings.HasSuffix(s, x.s) {
			v, err := number(strings.TrimSpace(strings.TrimSuffix(s, x.s)))
			if err != nil {
				return nil, err
			}
			return v.Mul(v, big.NewRat(x.m, 1)), nil
		}
	}
	return number(strings.TrimSpace(s))
}

func number(s string) (*big.Rat, error) {
	if s == "" || strings.ContainsAny(s, "eE/") {
		return nil, fmt.Errorf("not a plain decimal number: %q", s)
	}
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("not a number: %q", s)
	}
	return v, nil
}
