package report

import (
	"strconv"
	"strings"
)

// stepLabelParts returns the list name and the 1-based index that stepLabel
// prints as "list/index". Step ids look like "4.steps.2", "4.verify.0" or
// "rollback.steps.1": the list is the part before the last, "rollback" for
// any rollback step, "handlers" for a handler's step (ids PREFIX.handlers.
// HANDLER.STEP: the step's name says which handler), "step" when the id
// says none; the index is index, or the id's last part plus one.
func stepLabelParts(stepID string, index int) (string, int) {
	// The id's parts from its end (last, prev, prev2) and its first, read
	// in place: the terminal labels every step record it prints.
	first, _, _ := strings.Cut(stepID, ".")
	last, rest, parts := stepID, "", 1
	if i := strings.LastIndexByte(stepID, '.'); i >= 0 {
		last, rest, parts = stepID[i+1:], stepID[:i], 2
	}
	prev, prev2 := rest, ""
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		prev, parts = rest[i+1:], 3
		prev2 = rest[:i]
		if j := strings.LastIndexByte(prev2, '.'); j >= 0 {
			prev2 = prev2[j+1:]
		}
	}
	list := "step"
	if parts >= 2 && prev != "" && !isInt(prev) {
		list = prev
	}
	if parts >= 3 && prev2 == "handlers" && list == "step" {
		list = "handlers"
	}
	if first == "rollback" && parts >= 2 {
		list = "rollback"
	}
	if index <= 0 && isInt(last) {
		n, _ := strconv.Atoi(last)
		index = n + 1
	}
	return list, index
}

// isInt reports whether strconv.Atoi takes s, without the error value it
// allocates for the words (steps, verify) it is mostly given.
func isInt(s string) bool {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil
}
