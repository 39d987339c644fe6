package steps

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWaitForPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			x := newExec(t, tg.tr, tg.become)
			r := run(t, mustKind(t, `wait_for: {port: `+port+`, timeout: 10s}`), x)
			wantStatus(t, r, OK)
			if r.Data["attempts"] != 1 {
				t.Errorf("attempts %v", r.Data["attempts"])
			}
		})
	}
	ln.Close()
	tg := targets(t)[0]
	x := newExec(t, tg.tr, false)
	r := run(t, mustKind(t, `wait_for: {port: `+port+`, host: 127.0.0.1, timeout: 2s, interval: 200ms}`), x)
	wantErr(t, r, "wait_for port 127.0.0.1:"+port+": still failing", "after ")
	if n, _ := r.Data["attempts"].(int); n < 2 {
		t.Errorf("attempts %v, want several", r.Data["attempts"])
	}

	// No nc and no bash: fails at once instead of waiting.
	x.Env = map[string]string{"PATH": "/nonexistent"}
	start := time.Now()
	wantErr(t, run(t, mustKind(t, `wait_for: {port: `+port+`, timeout: 30s}`), x), "neither nc nor bash")
	if time.Since(start) > 10*time.Second {
		t.Error("waited although no probe exists")
	}
}

func TestWaitForCommand(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			flag, tried := filepath.Join(dir, "ready"), filepath.Join(dir, "tried")
			x := newExec(t, tg.tr, tg.become)
			// The flag appears only after a first attempt failed, however
			// slowly the machine runs it.
			go func() {
				for i := 0; i < 600; i++ {
					if _, err := os.Stat(tried); err == nil {
						os.WriteFile(flag, []byte("up\n"), 0o644)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			r := run(t, mustKind(t, `wait_for: {command: "touch `+tried+`; cat `+flag+`", timeout: 60s, interval: 200ms}`), x)
			wantStatus(t, r, OK)
			if n, _ := r.Data["attempts"].(int); n < 2 {
				t.Errorf("attempts %v", r.Data["attempts"])
			}
			if out := x.Stdout.(*lockedBuffer).String(); out != "up\n" {
				t.Errorf("only the last attempt's output is kept: %q", out)
			}
		})
	}
	x := newExec(t, targets(t)[0].tr, false)
	r := run(t, mustKind(t, `wait_for: {command: "echo nope >&2; exit 4", timeout: 2s, interval: 300ms}`), x)
	wantErr(t, r, "still failing (exit 4: nope)")
	if !strings.Contains(x.Stderr.(*lockedBuffer).String(), "nope") {
		t.Error("stderr of the last attempt lost")
	}
}

// TestWaitForSlowAttempt checks that an attempt cut off by the time left
// counts as one more failure, not as a broken step.
func TestWaitForSlowAttempt(t *testing.T) {
	tg := targets(t)[0]
	x := newExec(t, tg.tr, false)
	start := time.Now()
	r := run(t, mustKind(t, `wait_for: {command: "sleep 30", timeout: 1500ms, interval: 100ms}`), x)
	wantErr(t, r, "still failing (exit -1: the attempt timed out)")
	if time.Since(start) > 15*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

// TestPortScriptUsesNc runs the port test with an nc on PATH that records
// how it was called.
func TestPortScriptUsesNc(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	os.WriteFile(filepath.Join(bin, "nc"), []byte("#!/bin/sh\necho \"$@\" > "+log+"\nexit 1\n"), 0o755)
	tg := targets(t)[0]
	x := newExec(t, tg.tr, false)
	x.Env = map[string]string{"PATH": bin + ":/usr/bin:/bin"}
	wantErr(t, run(t, mustKind(t, `wait_for: {port: 6443, host: "127.0.0.9", timeout: 1s, interval: 400ms}`), x), "wait_for port 127.0.0.9:6443: still failing (exit 1)")
	if got := readFile(t, log); got != "-z -w 3 127.0.0.9 6443\n" {
		t.Errorf("nc called with %q", got)
	}
}
