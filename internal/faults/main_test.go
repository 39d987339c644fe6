package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// fsizeEnv makes the test binary a launcher: it sets RLIMIT_FSIZE to the
// value (bytes) and execs its arguments, so that the runbook under test runs
// with a file size limit and nothing else does.
const fsizeEnv = "RUNBOOK_FAULTS_FSIZE"

var (
	binDir   string
	buildBin struct {
		once sync.Once
		path string
		err  error
	}
)

func TestMain(m *testing.M) {
	if v := os.Getenv(fsizeEnv); v != "" {
		os.Exit(launchWithFileSizeLimit(v, os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "runbook-faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// launchWithFileSizeLimit execs args[0] with RLIMIT_FSIZE set to limit
// bytes. It returns only on failure.
func launchWithFileSizeLimit(limit string, args []string) int {
	n, err := strconv.ParseUint(limit, 10, 64)
	if err != nil || len(args) == 0 {
		fmt.Fprintf(os.Stderr, "faults launcher: %s=%q, args %q\n", fsizeEnv, limit, args)
		return 2
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: n, Max: n}); err != nil {
		fmt.Fprintln(os.Stderr, "faults launcher: setrlimit:", err)
		return 2
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if len(kv) < len(fsizeEnv)+1 || kv[:len(fsizeEnv)+1] != fsizeEnv+"=" {
			env = append(env, kv)
		}
	}
	err = syscall.Exec(args[0], args, env)
	fmt.Fprintln(os.Stderr, "faults launcher: exec:", err)
	return 2
}

// binEnv names a runbook binary to test instead of building one.
const binEnv = "RUNBOOK_FAULTS_BIN"

// runbookBinary builds cmd/runbook once per test binary and returns its
// path: the suite tests the real command, as an operator runs it. With
// RUNBOOK_FAULTS_BIN set it tests that binary instead.
func runbookBinary(t testing.TB) string {
	t.Helper()
	buildBin.once.Do(func() {
		if p := os.Getenv(binEnv); p != "" {
			buildBin.path, buildBin.err = filepath.Abs(p)
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildBin.err = fmt.Errorf("go build cmd/runbook: no go command on PATH: %v", err)
			return
		}
		out := filepath.Join(binDir, "runbook")
		cmd := exec.Command(goBin, "build", "-o", out, "github.com/runbookhq/runbook/cmd/runbook")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildBin.err = fmt.Errorf("go build cmd/runbook: %v\n%s", err, b)
			return
		}
		buildBin.path = out
	})
	if buildBin.err != nil {
		t.Fatal(buildBin.err)
	}
	return buildBin.path
}
