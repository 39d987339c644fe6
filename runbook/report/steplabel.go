package report

import (
	"strconv"
	"strings"
)

// stepLabelParts returns the list name and the index that stepLabel(stepID,
// index) prints as "list/index", without the allocations of splitting the id
// and formatting: the reports print a label per host × step.
// steplabel_test.go checks it against the plain first version.
func stepLabelParts(stepID string, index int) (string, int) {
	last := strings.LastIndexByte(stepID, '.')
	list := "step"
	if last >= 0 {
		prev := stepID[:last]
		cand := prev[strings.LastIndexByte(prev, '.')+1:]
		if cand != "" && !atoiOK(cand) {
			list = cand
		}
	}
	if index <= 0 {
		if n, err := strconv.Atoi(stepID[last+1:]); err == nil {
			index = n + 1
		}
	}
	return list, index
}

// atoiOK reports whether strconv.Atoi accepts s. Most step ids' list names
// hold a letter, and Atoi then fails; calling it only for the rest spares the
// error it allocates.
func atoiOK(s string) bool {
	digits := s
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	_, err := strconv.Atoi(s)
	return err == nil
}
