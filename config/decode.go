package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// A file's schema is the settings table read as a tree: each key's last
// part is an attribute (or a quantities or service block) of the block its
// other parts name. Body.Content with it refuses any other attribute or
// block, with HCL's own "Did you mean …?".
type schemaNode struct {
	attrs  map[string]*Setting
	blocks map[string]*schemaNode // sections: server { … }
	leaves map[string]*Setting    // blocks decoded whole: quantities, services
}

var fileSchema = buildSchema()

func buildSchema() *schemaNode {
	root := newNode()
	for i := range Settings {
		s := &Settings[i]
		if s.Key == "" || s.kind == kSection {
			continue
		}
		parts := strings.Split(s.Key, ".")
		n := root
		for _, p := range parts[:len(parts)-1] {
			if n.blocks[p] == nil {
				n.blocks[p] = newNode()
			}
			n = n.blocks[p]
		}
		last := parts[len(parts)-1]
		if s.kind == kQuantities || s.kind == kServices {
			n.leaves[last] = s
		} else {
			n.attrs[last] = s
		}
	}
	return root
}

func newNode() *schemaNode {
	return &schemaNode{attrs: map[string]*Setting{}, blocks: map[string]*schemaNode{}, leaves: map[string]*Setting{}}
}

func (n *schemaNode) schema() *hcl.BodySchema {
	var sc hcl.BodySchema
	for name := range n.attrs {
		sc.Attributes = append(sc.Attributes, hcl.AttributeSchema{Name: name})
	}
	for name := range n.blocks {
		sc.Blocks = append(sc.Blocks, hcl.BlockHeaderSchema{Type: name})
	}
	for name, s := range n.leaves {
		bs := hcl.BlockHeaderSchema{Type: name}
		if s.kind == kServices {
			bs.LabelNames = []string{"name"}
		}
		sc.Blocks = append(sc.Blocks, bs)
	}
	return &sc
}

// names are the attribute and block names the node accepts, sorted.
func (n *schemaNode) names() []string {
	var out []string
	for k := range n.attrs {
		out = append(out, k)
	}
	for k := range n.blocks {
		out = append(out, k)
	}
	for k := range n.leaves {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var unknownName = regexp.MustCompile(`(named|type) "([^"]*)"`)

// suggest makes HCL's "Did you mean" name the closest accepted name (HCL
// offers the first one within two edits, which depends on the order).
func (n *schemaNode) suggest(msg string) string {
	m := unknownName.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	best, bestD := "", 3
	for _, name := range n.names() {
		if d := editDistance(m[2], name); d < bestD {
			best, bestD = name, d
		}
	}
	if best == m[2] {
		return msg // a block written as an attribute, or the reverse: HCL says so
	}
	if i := strings.Index(msg, " Did you mean"); i >= 0 {
		msg = msg[:i]
	}
	if best != "" {
		msg += fmt.Sprintf(" Did you mean %q?", best)
	}
	return msg
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// parseBody parses an HCL file, or its JSON form (a .json name or a
// leading '{'; the root must be an object). The contract's one-line blocks
// are accepted; errors are one line with the file position.
func parseBody(name string, src []byte) (hcl.Body, error) {
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	trim := strings.TrimSpace(string(src))
	if strings.HasSuffix(name, ".json") || strings.HasPrefix(trim, "{") {
		if !strings.HasPrefix(trim, "{") {
			return nil, errf("%s: the root of a JSON config must be an object {…}", name)
		}
		f, diags = p.ParseJSON(src, name)
	} else {
		f, diags = p.ParseHCL(expandOneLineBlocks(src), name)
	}
	if diags.HasErrors() {
		return nil, errf("%s", oneLine(diags))
	}
	return f.Body, nil
}

// DecodeFile decodes an HCL file (or its JSON form) into target, a struct
// with hcl tags (scenario files use it); quoted numbers and booleans are
// refused as in agent configs.
func DecodeFile(name string, src []byte, target any) error {
	body, err := parseBody(name, src)
	if err != nil {
		return err
	}
	if d := gohcl.DecodeBody(body, nil, target); d.HasErrors() {
		return errf("%s", oneLine(d))
	}
	return strictTypes(body, reflect.TypeOf(target))
}

func oneLine(d hcl.Diagnostics) string {
	for _, x := range d {
		if x.Severity == hcl.DiagError {
			loc := ""
			if x.Subject != nil {
				loc = x.Subject.String() + ": "
			}
			return strings.ReplaceAll(loc+x.Summary+": "+x.Detail, "\n", " ")
		}
	}
	return d.Error()
}

// mergeFile reads a config file into c, through the settings table.
func (c *Config) mergeFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return errf("--config: %q cannot be read: %v", path, err)
	}
	return c.mergeSource(path, b)
}

func (c *Config) mergeSource(path string, src []byte) error {
	body, err := parseBody(path, src)
	if err != nil {
		return err
	}
	return c.decodeBody(body, fileSchema, "", path, filepath.Base(path))
}

// decodeBody decodes one block's body with the schema node n.
func (c *Config) decodeBody(body hcl.Body, n *schemaNode, prefix, path, base string) error {
	content, diags := body.Content(n.schema())
	if diags.HasErrors() {
		return errf("%s", n.suggest(oneLine(diags)))
	}
	attrs := make([]*hcl.Attribute, 0, len(content.Attributes))
	for _, a := range content.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].Range.Start.Byte < attrs[j].Range.Start.Byte }) // first error first
	for _, attr := range attrs {
		s := n.attrs[attr.Name]
		v, d := attr.Expr.Value(nil)
		if d.HasErrors() {
			return errf("%s", oneLine(d))
		}
		if err := s.setValue(c, v, attr.Expr.Range().String(), s.Key+" in "+base); err != nil {
			return err
		}
	}
	seen := map[string]hcl.Range{}
	for _, blk := range content.Blocks {
		if s, ok := n.leaves[blk.Type]; ok && s.kind == kServices {
			if err := c.addService(blk, path); err != nil {
				return err
			}
			continue
		}
		if first, dup := seen[blk.Type]; dup {
			return errf("%s: duplicate %s block: only one is allowed (the first is at %s)", blk.DefRange.String(), blk.Type, first.String())
		}
		seen[blk.Type] = blk.DefRange
		if s, ok := n.leaves[blk.Type]; ok { // quantities
			var q Quantities
			if d := gohcl.DecodeBody(blk.Body, nil, &q); d.HasErrors() {
				return errf("%s", oneLine(d))
			}
			v, err := q.Vec(s.Key + " in " + base)
			if err != nil {
				return err
			}
			*s.field(c).(*bidding.Vec) = v
			c.set(s.Key, s.Key+" in "+base)
			continue
		}
		c.set(prefix+blk.Type, prefix+blk.Type+" in "+base)
		if err := c.decodeBody(blk.Body, n.blocks[blk.Type], prefix+blk.Type+".", path, base); err != nil {
			return err
		}
	}
	return nil
}

// addService decodes one service "NAME" { … } block.
func (c *Config) addService(blk *hcl.Block, path string) error {
	var sb serviceBlock
	if d := gohcl.DecodeBody(blk.Body, nil, &sb); d.HasErrors() {
		return errf("%s", oneLine(d))
	}
	if err := strictTypes(blk.Body, reflect.TypeOf(sb)); err != nil {
		return err
	}
	sb.Name = blk.Labels[0]
	svc, err := sb.toService(path)
	if err != nil {
		return err
	}
	c.Services = append(c.Services, svc)
	c.set("service", fmt.Sprintf("service %q in %s", sb.Name, filepath.Base(path)))
	return nil
}
