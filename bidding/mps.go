package bidding

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// WriteMPS writes the LP that Solve solves for p (above the floors, before
// spill, deadband and integer rounding) in free MPS format: one objective
// row "obj" to be maximised, rows n<node>_<res> (spare node capacity) and
// c<service>_<res> (share caps that can bind), b_<res> (the cluster
// budget, when it can bind), columns x<res>_<j> bounded by
// their segment widths. Quantities are written in cores, GiB, MiB/s and
// Mbit/s rather than base units (the same LP with its columns scaled, so
// the objective is unchanged): LP solvers' tolerances (1e-7 on reduced
// costs in glpsol) would otherwise treat a value per byte as zero.
// `glpsol --freemps FILE --max` solves it independently; its optimum
// equals Stats.Objective.
func WriteMPS(w io.Writer, p Problem) error {
	in, err := prepare(p, new(solveWork))
	if err != nil {
		return fmt.Errorf("bidding: mps: %w", err)
	}
	order, start := in.byNode()
	in.computeFloors(order, start)
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "NAME allot-epoch-%d\nROWS\n N obj\n", in.epoch)
	lps := make([]*resLP, NumResources)
	for _, r := range Resources() {
		lps[r] = in.buildLP(r, nil, fullLP)
		for n := range lps[r].nodeCap {
			fmt.Fprintf(bw, " L n%d_%s\n", n, r)
		}
		for c := range lps[r].capK {
			fmt.Fprintf(bw, " L c%d_%s\n", lps[r].capSvc[c], r)
		}
		if lps[r].hasBudget {
			fmt.Fprintf(bw, " L b_%s\n", r)
		}
	}
	bw.WriteString("COLUMNS\n")
	for _, r := range Resources() {
		lp := lps[r]
		for j := range lp.colU {
			fmt.Fprintf(bw, " x%s_%d obj %s n%d_%s 1\n", r, j, ftoa(float64(lp.colV[j]*resourceUnit[r])), lp.node[j], r)
			if c := lp.colCap[j]; c >= 0 {
				fmt.Fprintf(bw, " x%s_%d c%d_%s 1\n", r, j, lp.capSvc[c], r)
			}
			if lp.hasBudget {
				fmt.Fprintf(bw, " x%s_%d b_%s 1\n", r, j, r)
			}
		}
	}
	bw.WriteString("RHS\n")
	for _, r := range Resources() {
		lp := lps[r]
		for n, c := range lp.nodeCap {
			if c != 0 {
				fmt.Fprintf(bw, " RHS n%d_%s %s\n", n, r, units(c, r))
			}
		}
		for c, k := range lp.capK {
			if k != 0 {
				fmt.Fprintf(bw, " RHS c%d_%s %s\n", lp.capSvc[c], r, units(k, r))
			}
		}
		if lp.hasBudget && lp.budget != 0 {
			fmt.Fprintf(bw, " RHS b_%s %s\n", r, units(lp.budget, r))
		}
	}
	bw.WriteString("BOUNDS\n")
	for _, r := range Resources() {
		for j, u := range lps[r].colU {
			fmt.Fprintf(bw, " UP BND x%s_%d %s\n", r, j, units(u, Resource(r)))
		}
	}
	bw.WriteString("ENDATA\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("bidding: mps: %w", err)
	}
	return nil
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// units writes a base-unit quantity in the MPS file's units.
func units(x int64, r Resource) string { return ftoa(float64(x) / resourceUnit[r]) }
