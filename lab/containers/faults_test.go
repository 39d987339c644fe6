package containers

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkClean fails the test when a lab of dir left anything behind.
func checkClean(t *testing.T, dir string) {
	t.Helper()
	if left := Leftovers(dir); len(left) > 0 {
		t.Errorf("left behind:\n%s", strings.Join(left, "\n"))
	}
}

// An image build that cannot reach its mirror fails with a clear error,
// leaves no half-built image in the cache and nothing running.
func TestImageBuildWithoutNetworkFails(t *testing.T) {
	needContainers(t)
	if _, err := lookTool("mmdebstrap"); err != nil {
		t.Skip("needs mmdebstrap")
	}
	cache := t.TempDir()
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := EnsureImage(ctx, ImageOptions{CacheDir: cache, Mirror: "http://127.0.0.1:9/debian", Progress: &progress})
	if err == nil {
		t.Fatal("the build succeeded without a mirror")
	}
	for _, want := range []string{"building the Debian 12 image failed", "is http://127.0.0.1:9/debian reachable?"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(cache, "containers"))
	for _, e := range entries {
		if e.Name() != ".build.lock" {
			t.Errorf("the failed build left %s in the cache", e.Name())
		}
	}
	checkClean(t, cache)
}

// A node whose address is taken is refused before anything boots.
func TestPortAlreadyTaken(t *testing.T) {
	needContainers(t)
	base := testAddressBase(t)
	ln, err := net.Listen("tcp", base+"2:22")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	_, err = Start(context.Background(), Options{Dir: dir, Nodes: []NodeSpec{{Name: "a", Address: base + "1"}, {Name: "b", Address: base + "2"}}})
	if err == nil || !strings.Contains(err.Error(), "node b cannot listen on "+base+"2:22") {
		t.Fatalf("error %v, want node b cannot listen on %s2:22", err, base)
	}
	checkClean(t, dir)
	// The lab directory is free again.
	if err := Reset(dir, []string{"a", "b"}); err != nil {
		t.Errorf("reset after the failed start: %v", err)
	}
}

// A node whose init fails does not hang the start: the error names the
// node and ends with its console.
func TestNodeThatDoesNotBoot(t *testing.T) {
	needContainers(t)
	dir := t.TempDir()
	img, err := EnsureImage(context.Background(), ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The node's own layer replaces systemd with a program that fails.
	nodeDir := filepath.Join(dir, "nodes", "broken")
	initPath := filepath.Join(nodeDir, "upper", "usr", "lib", "systemd", "systemd")
	os.MkdirAll(filepath.Dir(initPath), 0o755)
	os.WriteFile(initPath, []byte("#!/bin/sh\necho 'rb-test: this init fails on purpose' >&2\nexit 1\n"), 0o755)
	os.WriteFile(filepath.Join(nodeDir, imageKeyName), []byte(img.Key+"\n"), 0o600)
	base := testAddressBase(t)
	start := time.Now()
	_, err = Start(context.Background(), Options{Dir: dir, BootTimeout: time.Minute,
		Nodes: []NodeSpec{{Name: "good", Address: base + "1"}, {Name: "broken", Address: base + "2"}}})
	if err == nil {
		t.Fatal("the lab started with a node that cannot boot")
	}
	for _, want := range []string{"node broken did not boot", "rb-test: this init fails on purpose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if time.Since(start) > 50*time.Second {
		t.Errorf("the failed boot took %s: it waited for the timeout", time.Since(start))
	}
	checkClean(t, dir)
}

// One process at a time runs a lab directory.
func TestSecondStartOfOneLabIsRefused(t *testing.T) {
	l := startLab(t, "only")
	_, err := Start(context.Background(), Options{Dir: l.Dir(), Nodes: []NodeSpec{{Name: "only", Address: "127.250.250.250"}}})
	if err == nil || !strings.Contains(err.Error(), "are already running") {
		t.Fatalf("second start: %v", err)
	}
	if err := Reset(l.Dir(), []string{"only"}); err == nil || !strings.Contains(err.Error(), "are already running") {
		t.Fatalf("reset of a running lab: %v", err)
	}
}

// A node killed as by a power cut drops its sessions, stays down, and
// boots again on request; a reset then gives it back as the image is.
func TestKillBootAndReset(t *testing.T) {
	l := startLab(t, "k1")
	c := nodeClient(t, l, "k1", LoginUser)
	run(t, c, "echo changed | sudo -n tee /etc/rbdemo/rbdemo.conf >/dev/null")
	done := make(chan error, 1)
	go func() {
		_, err := output(c, "sleep 60")
		done <- err
	}()
	time.Sleep(time.Second)
	if err := l.Kill("k1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the command ran to its end on a killed node")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the session outlived its node by 30s")
	}
	if l.Running("k1") || l.PID("k1") != 0 {
		t.Fatal("k1 is still running after Kill")
	}
	if left := Leftovers(l.Dir()); len(left) > 0 {
		t.Errorf("the killed node left:\n%s", strings.Join(left, "\n"))
	}
	if err := l.Boot(context.Background(), "k1"); err != nil {
		t.Fatal(err)
	}
	c = nodeClient(t, l, "k1", LoginUser)
	if got := run(t, c, "cat /etc/rbdemo/rbdemo.conf"); got != "changed\n" {
		t.Errorf("after the power cut the conffile reads %q", got)
	}
	l.Close()
	if err := Reset(l.Dir(), []string{"k1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(upperPath(l, "k1", "etc/rbdemo/rbdemo.conf")); !os.IsNotExist(err) {
		t.Errorf("the reset kept the node's change: %v", err)
	}
}
