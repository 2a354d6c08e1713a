package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// expandOneLineBlocks rewrites single-line blocks holding several attributes,
// such as `min { cpu = "250m"  memory = "256MiB" }` (the form the contract's
// examples use), into the multi-line form HCL 2 requires. It only inserts
// newlines between tokens, so positions in error messages keep their lines
// close to the original and nothing else changes.
func expandOneLineBlocks(src []byte) []byte {
	toks, diags := hclsyntax.LexConfig(src, "", hcl.InitialPos)
	if diags.HasErrors() {
		return src // let the parser report the problem
	}
	var inserts []int
	nest := 0 // depth of () and []
	for i, t := range toks {
		switch t.Type {
		case hclsyntax.TokenOParen, hclsyntax.TokenOBrack:
			nest++
		case hclsyntax.TokenCParen, hclsyntax.TokenCBrack:
			nest--
		}
		if nest != 0 {
			continue
		}
		prev := hclsyntax.TokenNewline
		if i > 0 {
			prev = toks[i-1].Type
		}
		next := hclsyntax.TokenNewline
		if i+1 < len(toks) {
			next = toks[i+1].Type
		}
		switch {
		case t.Type == hclsyntax.TokenOBrace && next != hclsyntax.TokenNewline && next != hclsyntax.TokenCBrace:
			inserts = append(inserts, t.Range.End.Byte)
		case t.Type == hclsyntax.TokenCBrace && prev != hclsyntax.TokenNewline && prev != hclsyntax.TokenOBrace:
			inserts = append(inserts, t.Range.Start.Byte)
		case t.Type == hclsyntax.TokenIdent && (next == hclsyntax.TokenEqual || next == hclsyntax.TokenOBrace || next == hclsyntax.TokenOQuote) && prev != hclsyntax.TokenNewline && prev != hclsyntax.TokenOBrace && prev != hclsyntax.TokenComma:
			inserts = append(inserts, t.Range.Start.Byte)
		}
	}
	if len(inserts) == 0 {
		return src
	}
	out := make([]byte, 0, len(src)+len(inserts))
	last := 0
	for _, at := range inserts {
		out = append(out, src[last:at]...)
		out = append(out, '\n')
		last = at
	}
	return append(out, src[last:]...)
}
