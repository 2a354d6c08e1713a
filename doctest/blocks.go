// Package doctest runs the shell blocks of README.md as a reader would
// paste them (readme_test.go, build tag doctest: `make doctest`), so a
// recipe that breaks fails CI. This file finds the blocks.
package doctest

import (
	"strings"
)

// Block is one fenced shell block of a Markdown document.
type Block struct {
	Line int    // of the opening fence, 1-based
	Text string // the lines between the fences
	Skip string // the reason given by a `<!-- doctest: skip: REASON -->` line just above, if any
}

// shellLangs are the fence languages that mark a shell block.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}

// Blocks returns the shell blocks of md in order. A block is skipped when
// the last non-blank line before its fence is `<!-- doctest: skip: REASON -->`.
func Blocks(md string) []Block {
	lines := strings.Split(md, "\n")
	var out []Block
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "```") {
			continue
		}
		lang := strings.TrimSpace(strings.TrimPrefix(l, "```"))
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if shellLangs[lang] {
			b := Block{Line: i + 1, Text: strings.Join(lines[i+1:min(end, len(lines))], "\n") + "\n"}
			for j := i - 1; j >= 0; j-- {
				p := strings.TrimSpace(lines[j])
				if p == "" {
					continue
				}
				if r, ok := strings.CutPrefix(p, "<!-- doctest: skip"); ok {
					b.Skip = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(r), ":"), "-->"))
					if b.Skip == "" {
						b.Skip = "?"
					}
				}
				break
			}
			out = append(out, b)
		}
		i = end
	}
	return out
}
