package config

import (
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
)

// strictTypes refuses the values HCL would convert silently: a string where
// a number or a boolean is expected (`"bid_ttl": "3"`, `enabled = "true"`).
// The JSON form is what tools write, and a quoted number there is a bug in
// the tool, not a value to guess at. rt is the struct the body decodes into.
func strictTypes(body hcl.Body, rt reflect.Type) error {
	for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice {
		rt = rt.Elem()
	}
	if rt.Kind() != reflect.Struct {
		return nil
	}
	schema, _ := gohcl.ImpliedBodySchema(reflect.New(rt).Interface())
	content, _, _ := body.PartialContent(schema)
	if content == nil {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name, kind, _ := strings.Cut(f.Tag.Get("hcl"), ",")
		if name != "" && (kind == "optional" || kind == "block" || kind == "") {
			fields[name] = f.Type
		}
	}
	for name, attr := range content.Attributes {
		ft, ok := fields[name]
		if !ok {
			continue
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		var want cty.Type
		switch ft.Kind() {
		case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
			want = cty.Number
		case reflect.Bool:
			want = cty.Bool
		default:
			continue
		}
		v, d := attr.Expr.Value(nil)
		if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.Type() == want {
			continue
		}
		return errf("%s: %s: a %s is expected, not a %s (write it without quotes)", attr.Expr.Range().String(), name, want.FriendlyName(), v.Type().FriendlyName())
	}
	for _, b := range content.Blocks {
		if ft, ok := fields[b.Type]; ok {
			if err := strictTypes(b.Body, ft); err != nil {
				return err
			}
		}
	}
	return nil
}
