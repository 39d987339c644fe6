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
	parts := strings.Split(stepID, ".")
	list := "step"
	if len(parts) >= 2 {
		if cand := parts[len(parts)-2]; cand != "" {
			if _, err := strconv.Atoi(cand); err != nil {
				list = cand
			}
		}
	}
	if len(parts) >= 3 && parts[len(parts)-3] == "handlers" && list == "step" {
		list = "handlers"
	}
	if parts[0] == "rollback" && len(parts) >= 2 {
		list = "rollback"
	}
	if index <= 0 {
		if n, err := strconv.Atoi(parts[len(parts)-1]); err == nil {
			index = n + 1
		}
	}
	return list, index
}
