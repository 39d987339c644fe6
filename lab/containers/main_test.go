package containers

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMain stops the lab the step tests share, and fails the run when it
// left anything behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
		if left := Leftovers(shared.Dir()); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "the step tests' lab left behind:\n%s\n", strings.Join(left, "\n"))
			code = 1
		}
		os.RemoveAll(shared.Dir())
	}
	os.Exit(code)
}

func mkdirTemp(pattern string) (string, error) { return os.MkdirTemp("", pattern) }
