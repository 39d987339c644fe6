package faults

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// tmpfsScript runs in a mount namespace of its own: it mounts a 64 KiB
// tmpfs on the state directory, runs runbook, keeps a copy of what the run
// left, waits for the test to look at the hosts, makes room and resumes.
const tmpfsScript = `set -u
mount -t tmpfs -o size=64k,mode=0700 runbook-faults "$STATE" || exit 90
"$RB" --state-dir "$STATE" run "$@" >"$OUT/run.out" 2>"$OUT/run.err"
echo $? >"$OUT/run.rc"
cp -R "$STATE/runs" "$OUT/run-state" || exit 91
touch "$OUT/ran"
i=0
while [ ! -e "$OUT/go" ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done
[ -e "$OUT/go" ] || exit 92
[ -e "$OUT/stop" ] && exit 0
mount -o remount,size=16m "$STATE" || exit 93
id=$(ls "$STATE/runs")
"$RB" --state-dir "$STATE" resume "$id" --yes >"$OUT/resume.out" 2>"$OUT/resume.err"
echo $? >"$OUT/resume.rc"
cp -R "$STATE/runs" "$OUT/resume-state" || exit 94
`

// tmpfsRunAndResume runs runbook with its state directory on a 64 KiB
// tmpfs mounted in a mount namespace of its own: a disk that is really
// full (ENOSPC). It skips the test where this process may not create a
// mount namespace (it needs CAP_SYS_ADMIN); rlimitRunAndResume needs none.
func tmpfsRunAndResume(t *testing.T, c *cli, args []string, ran func(result, string, *journal.Log)) (result, *journal.Log) {
	state := filepath.Join(t.TempDir(), "state")
	out := t.TempDir()
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", append([]string{"-c", tmpfsScript, "sh"}, args...)...)
	cmd.Env = append(append([]string{}, c.env...), "RB="+c.bin, "STATE="+state, "OUT="+out)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	var b strings.Builder
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("cannot create a mount namespace for a small tmpfs (%v); the rlimit variant covers a full disk", err)
		}
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	finished := func() error {
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			<-done
			t.Fatalf("the tmpfs script did not end within two minutes: %s", b.String())
		}
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) && ee.ExitCode() == 90 {
			t.Skipf("cannot mount a tmpfs: %s", b.String())
		}
		if waitErr != nil {
			t.Fatalf("tmpfs script: %v\n%s", waitErr, b.String())
		}
		return nil
	}
	// Wait for the run to end.
	for {
		if _, err := os.Stat(filepath.Join(out, "ran")); err == nil {
			break
		}
		select {
		case <-done:
			finished()
			t.Fatalf("the tmpfs script ended before the run did: %s", b.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	code := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(read(name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return n
	}
	entries, err := os.ReadDir(filepath.Join(out, "run-state"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("runs the tmpfs run left: %v %v", entries, err)
	}
	id := entries[0].Name()
	run := result{code: code("run.rc"), stdout: read("run.out"), stderr: read("run.err")}
	ran(run, state, readJournal(t, filepath.Join(out, "run-state", id, journal.JournalFile)))
	if t.Failed() {
		os.WriteFile(filepath.Join(out, "stop"), nil, 0o644)
	}
	if err := os.WriteFile(filepath.Join(out, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	finished()
	if t.Failed() {
		return result{}, nil
	}
	resume := result{code: code("resume.rc"), stdout: read("resume.out"), stderr: read("resume.err")}
	return resume, readJournal(t, filepath.Join(out, "resume-state", id, journal.JournalFile))
}
