package transporttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"math/rand/v2"
	"path"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// heapWatcher counts what it is written and samples the heap as it goes.
type heapWatcher struct {
	n, base, peak uint64
	nextSample    uint64
}

func (w *heapWatcher) Write(p []byte) (int, error) {
	w.n += uint64(len(p))
	if w.n >= w.nextSample {
		w.nextSample += 4 << 20
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.peak = max(w.peak, ms.HeapAlloc)
	}
	return len(p), nil
}

func testLargeOutput(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	const size = 50 << 20
	// A low GC target keeps garbage out of the figure: what remains is
	// what the transport holds.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &heapWatcher{base: ms.HeapAlloc, nextSample: 1 << 20}
	stderr := &heapWatcher{}
	res, err := tr.Run(context.Background(), transport.Command{Shell: h.BytesCommand(size), Stdout: w, Stderr: stderr})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode)
	}
	if w.n != size || stderr.n != 0 {
		t.Fatalf("received %d bytes on stdout and %d on stderr, want %d and 0", w.n, stderr.n, size)
	}
	const limit = 30 << 20
	if w.peak > w.base && w.peak-w.base > limit {
		t.Errorf("heap grew by %d MiB while streaming %d MiB: the transport holds the output", (w.peak-w.base)>>20, size>>20)
	}
}

// testOutputStreams checks that output reaches the writer while the command
// still runs: the command waits for a file that the test creates only once
// it has received the first megabyte. A transport that buffered the output
// until the command ended would never see it end.
func testOutputStreams(t *testing.T, h Harness) {
	tr, dir := h.New(t)
	goFile := path.Join(dir, "go")
	var once sync.Once
	touched := make(chan error, 1)
	var got atomic.Int64
	w := writerFunc(func(p []byte) (int, error) {
		if got.Add(int64(len(p))) >= 1<<20 {
			once.Do(func() {
				go func() {
					_, err := tr.Run(context.Background(), transport.Command{Argv: []string{"touch", goFile}})
					touched <- err
				}()
			})
		}
		return len(p), nil
	})
	script := h.BytesCommand(1<<20) + "; while [ ! -e " + transport.Quote(goFile) + " ]; do sleep 0.05; done; echo end >&2"
	var stderr bytes.Buffer
	res, err := tr.Run(context.Background(), transport.Command{Shell: script, Stdout: w, Stderr: &stderr, Timeout: 30 * time.Second})
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the command never saw %s: its first megabyte of output did not reach the writer while it ran (got %d bytes)", goFile, got.Load())
	}
	if err != nil || res.ExitCode != 0 || stderr.String() != "end\n" {
		t.Fatalf("Run: %v, exit %d, stderr %q", err, res.ExitCode, stderr.String())
	}
	if err := <-touched; err != nil {
		t.Errorf("touch while the other command ran: %v", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func testFiles(t *testing.T, h Harness) {
	tr, dir := h.New(t)
	ctx := context.Background()
	data := make([]byte, 3<<20+17)
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	rng.Read(data)
	file := path.Join(dir, "data file.bin")

	if err := tr.Upload(ctx, file, bytes.NewReader(data), 0o640); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	checkFile(t, tr, file, data, 0o640)
	sum := sha256.Sum256(data)
	r := run(t, tr, transport.Command{Argv: []string{"sha256sum", file}})
	if got, _, _ := strings.Cut(r.Stdout, " "); got != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256sum on the host = %q, want %x", r.Stdout, sum)
	}

	// Replacing a file replaces content and mode.
	small := []byte("#!/bin/sh\necho replaced\n")
	if err := tr.Upload(ctx, file, bytes.NewReader(small), 0o755); err != nil {
		t.Fatalf("Upload over an existing file: %v", err)
	}
	checkFile(t, tr, file, small, 0o755)
	if r := run(t, tr, transport.Command{Argv: []string{file}}); r.Stdout != "replaced\n" {
		t.Errorf("running the uploaded script: %q (exit %d, stderr %q)", r.Stdout, r.ExitCode, r.Stderr)
	}
	empty := path.Join(dir, "empty")
	if err := tr.Upload(ctx, empty, bytes.NewReader(nil), 0o600); err != nil {
		t.Fatalf("Upload of an empty file: %v", err)
	}
	checkFile(t, tr, empty, nil, 0o600)

	if fi, err := tr.Stat(ctx, dir); err != nil || !fi.IsDir {
		t.Errorf("Stat(%s) = %+v, %v; want a directory", dir, fi, err)
	}
	missing := path.Join(dir, "missing")
	if _, err := tr.Stat(ctx, missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a missing file: %v, want fs.ErrNotExist", err)
	}
	if err := tr.Download(ctx, missing, &bytes.Buffer{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Download of a missing file: %v, want fs.ErrNotExist", err)
	}
	if err := tr.Upload(ctx, path.Join(missing, "f"), strings.NewReader("x"), 0o644); err == nil {
		t.Error("Upload into a missing directory succeeded")
	}
	// Nothing but the two files is left behind (no temporary file).
	r = run(t, tr, transport.Command{Argv: []string{"ls", "-A", dir}})
	if r.Stdout != "data file.bin\nempty\n" {
		t.Errorf("directory holds %q after the uploads", r.Stdout)
	}
}

func checkFile(t *testing.T, tr transport.Transport, file string, want []byte, mode fs.FileMode) {
	t.Helper()
	fi, err := tr.Stat(context.Background(), file)
	if err != nil {
		t.Fatalf("Stat(%s): %v", file, err)
	}
	if fi.Size != int64(len(want)) || fi.Mode.Perm() != mode || fi.IsDir || !fi.Mode.IsRegular() {
		t.Errorf("Stat(%s) = size %d mode %v dir %v; want size %d mode %v", file, fi.Size, fi.Mode, fi.IsDir, len(want), mode)
	}
	var got bytes.Buffer
	if err := tr.Download(context.Background(), file, &got); err != nil {
		t.Fatalf("Download(%s): %v", file, err)
	}
	if sha256.Sum256(got.Bytes()) != sha256.Sum256(want) {
		t.Errorf("Download(%s): %d bytes that differ from the %d uploaded", file, got.Len(), len(want))
	}
}

func testFacts(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	f, err := tr.Facts(context.Background())
	if err != nil {
		t.Fatalf("Facts: %v", err)
	}
	for name, v := range map[string]string{
		"hostname": f.Hostname, "kernel": f.Kernel, "arch": f.Arch, "boot_id": f.BootID, "os id": f.OSID,
	} {
		if v == "" || strings.ContainsAny(v, "\n\"'") {
			t.Errorf("fact %s = %q", name, v)
		}
	}
	r := run(t, tr, sh("uname -r"))
	if strings.TrimSpace(r.Stdout) != f.Kernel {
		t.Errorf("kernel fact %q, uname -r %q", f.Kernel, r.Stdout)
	}
	again, err := tr.Facts(context.Background())
	if err != nil || again != f {
		t.Errorf("Facts again = %+v, %v; want %+v", again, err, f)
	}
}
