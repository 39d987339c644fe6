package engine

import (
	"slices"

	"github.com/runbookhq/runbook/runbook"
)

// Batches splits hosts into batches by serial: percentages are of the whole
// batch phase's host count, rounded up, at least 1; the last size repeats.
// No serial means one batch of every host.
func Batches(serial runbook.SizeList, hosts []string) [][]string {
	if len(hosts) == 0 {
		return nil
	}
	if len(serial) == 0 {
		return [][]string{slices.Clone(hosts)}
	}
	var out [][]string
	rest := hosts
	for i := 0; len(rest) > 0; i++ {
		size := serial[min(i, len(serial)-1)].Of(len(hosts))
		if size < 1 {
			size = 1
		}
		size = min(size, len(rest))
		out = append(out, slices.Clone(rest[:size]))
		rest = rest[size:]
	}
	return out
}
