package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/zclconf/go-cty/cty"
)

// setText sets the setting from text, as a flag or the environment gives
// it; src names where it came from ("flag --epoch", "ALLOT_SERVER_EPOCH").
func (s *Setting) setText(c *Config, text, src string) error {
	switch p := s.field(c).(type) {
	case *string:
		*p = text
	case *bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return errf("%s: %q is not a boolean (true or false)", src, text)
		}
		if s.kind == kNotBool {
			b = !b
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return errf("%s: %q is not an integer", src, text)
		}
		*p = n
	case *uint64:
		n, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return errf("%s: %q is not a whole number ≥ 0", src, text)
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return errf("%s: %q is not a number", src, text)
		}
		*p = f
	case *time.Duration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return errf("%s: %q is not a duration (e.g. 5m, 30s, 1h)", src, text)
		}
		*p = d
	case *int64:
		n, err := ParseQuantity(bidding.Memory, text)
		if err != nil {
			return errf("%s: %q: %v (a size such as \"64MiB\")", src, text, err)
		}
		*p = n
	case *[]string:
		*p = strings.Split(text, ",")
	default:
		return errf("%s: cannot be set from text", src)
	}
	c.set(s.ID(), src)
	return nil
}

// ctyWant is the HCL type a file must give the setting: no silent
// conversion, so a quoted number or boolean is refused.
func (s *Setting) ctyWant() cty.Type {
	switch s.kind {
	case kBool, kNotBool:
		return cty.Bool
	case kInt, kUint, kFloat:
		return cty.Number
	case kList:
		return cty.List(cty.String)
	}
	return cty.String
}

// setValue sets the setting from a config file's value; at is the file
// position for type errors, src the source ("server.epoch in a.hcl").
func (s *Setting) setValue(c *Config, v cty.Value, at, src string) error {
	if v.IsNull() {
		return nil // as if left out
	}
	if !v.IsWhollyKnown() {
		return errf("%s: %s: the value must be a literal", at, s.Key)
	}
	want := s.ctyWant()
	name := s.Key[strings.LastIndex(s.Key, ".")+1:]
	if want.IsListType() {
		t := v.Type()
		if !t.IsListType() && !t.IsTupleType() {
			return errf("%s: %s: a list of strings is expected, not a %s", at, name, t.FriendlyName())
		}
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() || e.Type() != cty.String {
				return errf("%s: %s: every element must be a string", at, name)
			}
			out = append(out, e.AsString())
		}
		*s.field(c).(*[]string) = out
		c.set(s.ID(), src)
		return nil
	}
	if s.kind == kSize && v.Type() == cty.Number { // a size may be a plain number of bytes
		want = cty.Number
	}
	if v.Type() != want {
		return errf("%s: %s: a %s is expected, not a %s (write it without quotes)", at, name, want.FriendlyName(), v.Type().FriendlyName())
	}
	switch want {
	case cty.Bool:
		return s.setText(c, strconv.FormatBool(v.True()), src)
	case cty.Number:
		bf := v.AsBigFloat()
		if s.kind != kFloat && !bf.IsInt() {
			return errf("%s: %s: %s is not a whole number", src, name, bf.Text('g', -1))
		}
		if s.kind == kUint && bf.Sign() < 0 {
			return errf("%s: %s is outside the allowed range", src, bf.Text('g', -1))
		}
		return s.setText(c, bf.Text('f', -1), src)
	}
	return s.setText(c, v.AsString(), src)
}
