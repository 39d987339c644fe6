package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The profiling variables write what they name once the command is over:
// the CPU and allocation profiles (gzipped protobuf) and an execution
// trace; a file that cannot be created is said on stderr, and the command
// goes on.
func TestProfilesAreWrittenWhenAsked(t *testing.T) {
	dir := t.TempDir()
	cpu, mem, tr := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof"), filepath.Join(dir, "run.trace")
	t.Setenv("RUNBOOK_CPUPROFILE", cpu)
	t.Setenv("RUNBOOK_MEMPROFILE", mem)
	t.Setenv("RUNBOOK_TRACE", tr)
	rate := runtime.MemProfileRate // RUNBOOK_MEMPROFILE changes it
	t.Cleanup(func() { runtime.MemProfileRate = rate })
	var errOut bytes.Buffer
	stop := startProfiles(&errOut)
	if code, _, stderr := runCLI(t, "validate", "../../examples/crio-upgrade.yaml"); code != 0 {
		t.Fatalf("validate: exit %d: %s", code, stderr)
	}
	stop()
	if errOut.Len() > 0 {
		t.Fatalf("stderr: %s", errOut.String())
	}
	for _, f := range []string{cpu, mem} {
		if data, err := os.ReadFile(f); err != nil || !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			t.Errorf("%s: not a gzipped profile (%d bytes, %v)", filepath.Base(f), len(data), err)
		}
	}
	if data, err := os.ReadFile(tr); err != nil || !bytes.HasPrefix(data, []byte("go 1.")) || !bytes.Contains(data[:min(len(data), 20)], []byte(" trace")) {
		t.Errorf("run.trace: not an execution trace (%d bytes, %v)", len(data), err)
	}

	t.Setenv("RUNBOOK_CPUPROFILE", "")
	t.Setenv("RUNBOOK_MEMPROFILE", "")
	t.Setenv("RUNBOOK_TRACE", filepath.Join(dir, "missing", "run.trace"))
	errOut.Reset()
	stop = startProfiles(&errOut)
	if code, _, stderr := runCLI(t, "validate", "../../examples/crio-upgrade.yaml"); code != 0 {
		t.Fatalf("validate with an uncreatable trace file: exit %d: %s", code, stderr)
	}
	stop()
	if !strings.Contains(errOut.String(), "RUNBOOK_TRACE:") {
		t.Errorf("an uncreatable trace file: stderr %q, want it named", errOut.String())
	}
}
