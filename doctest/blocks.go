// Package doctest runs the shell blocks of README.md as a reader would
// paste them (readme_test.go, build tag doctest: `make doctest`), so a
// recipe that breaks fails CI. This file finds the blocks.
package doctest

import (
	"strings"
)

// Block is one fenced block of a Markdown document.
type Block struct {
	Line int    // of the opening fence, 1-based
	Lang string // the fence's language
	Text string // the lines between the fences
	// Note is the text of an HTML comment on the last non-blank line above
	// the fence (`<!-- doctest: skip: needs Docker -->` → "doctest: skip: needs Docker").
	Note string
}

// Skip is the reason a `<!-- doctest: skip: REASON -->` note gives ("?"
// when it gives none), or "" when the block is to run.
func (b Block) Skip() string {
	r, ok := strings.CutPrefix(b.Note, "doctest: skip")
	if !ok {
		return ""
	}
	if r = strings.TrimSpace(strings.TrimPrefix(r, ":")); r == "" {
		return "?"
	}
	return r
}

// shellLangs are the fence languages of shell blocks.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}

// ShellBlocks returns the shell blocks of md in order.
func ShellBlocks(md string) []Block {
	var out []Block
	for _, b := range Blocks(md) {
		if shellLangs[b.Lang] {
			out = append(out, b)
		}
	}
	return out
}

// Blocks returns every fenced block of md in order.
func Blocks(md string) []Block {
	lines := strings.Split(md, "\n")
	var out []Block
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "```") {
			continue
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		b := Block{Line: i + 1, Lang: strings.TrimSpace(strings.TrimPrefix(l, "```")),
			Text: strings.Join(lines[i+1:min(end, len(lines))], "\n") + "\n"}
		for j := i - 1; j >= 0; j-- {
			p := strings.TrimSpace(lines[j])
			if p == "" {
				continue
			}
			if c, ok := strings.CutPrefix(p, "<!--"); ok && strings.HasSuffix(c, "-->") {
				b.Note = strings.TrimSpace(strings.TrimSuffix(c, "-->"))
			}
			break
		}
		out = append(out, b)
		i = end
	}
	return out
}
