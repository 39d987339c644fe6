package journal

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestLockRunIsExclusive(t *testing.T) {
	dir := t.TempDir()
	first, err := LockRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockRun(dir)
	var held *RunHeldError
	if !errors.As(err, &held) {
		t.Fatalf("second lock: %v, want a *RunHeldError", err)
	}
	host, _ := os.Hostname()
	if held.PID != os.Getpid() || held.Host != host || held.Since.IsZero() {
		t.Errorf("holder %+v, want pid %d on %s with a time", held, os.Getpid(), host)
	}
	if !strings.Contains(err.Error(), "held by process") {
		t.Errorf("message: %v", err)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := LockRun(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
	again.Release() // twice is harmless
}
