package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// newJournal creates a journal in a fresh directory, failing t if it
// cannot, and returns it with its path.
func newJournal(t *testing.T) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), JournalFile)
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return w, path
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func TestAppendLazyWaitsForTheNextAppend(t *testing.T) {
	w, path := newJournal(t)
	lazy, err := w.AppendLazy(Record{Type: StepFinished, Host: "a"})
	if err != nil || lazy.Seq != 1 || lazy.Time.IsZero() {
		t.Fatalf("AppendLazy: %+v %v", lazy, err)
	}
	if n := fileSize(t, path); n != 0 {
		t.Fatalf("a lazy record was written at once (%d bytes)", n)
	}
	if _, err := w.Append(Record{Type: StepStarted, Host: "a"}); err != nil {
		t.Fatal(err)
	}
	log, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) != 2 || log.Records[0].Type != StepFinished || log.Records[1].Type != StepStarted {
		t.Fatalf("after Append the file holds %+v, want the lazy record then the appended one", log.Records)
	}
	// Close writes what is still buffered.
	if _, err := w.AppendLazy(Record{Type: StepFinished, Host: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if log, err = ReadFile(path); err != nil || len(log.Records) != 3 || log.Records[2].Host != "b" {
		t.Fatalf("after Close: %+v %v", log.Records, err)
	}
	if _, err := w.AppendLazy(Record{Type: StepFinished}); err == nil {
		t.Fatal("AppendLazy after Close succeeded")
	}
}

func TestAppendLazyConcurrentKeepsOrder(t *testing.T) {
	w, path := newJournal(t)
	const hosts, steps = 20, 10
	var wg sync.WaitGroup
	for h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range steps {
				host := fmt.Sprintf("h%d", h)
				if _, err := w.Append(Record{Type: StepStarted, Host: host, Index: s}); err != nil {
					t.Error(err)
					return
				}
				if _, err := w.AppendLazy(Record{Type: StepFinished, Host: host, Index: s}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	log, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) != 2*hosts*steps {
		t.Fatalf("%d records, want %d", len(log.Records), 2*hosts*steps)
	}
	next := map[string]int{} // per host: the records alternate started, finished, in step order
	for i, r := range log.Records {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		k := next[r.Host]
		want := StepStarted
		if k%2 == 1 {
			want = StepFinished
		}
		if r.Type != want || r.Index != k/2 {
			t.Fatalf("%s: record %d is %s of step %d, want %s of step %d", r.Host, k, r.Type, r.Index, want, k/2)
		}
		next[r.Host]++
	}
}

func TestCloseReportsAFailedFlush(t *testing.T) {
	w, path := newJournal(t)
	if _, err := w.AppendLazy(Record{Type: StepFinished}); err != nil {
		t.Fatal(err)
	}
	// Swap in a read-only handle: the write of the buffered record fails,
	// closing the file does not.
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w.f.Close()
	w.f = ro
	if err := w.Close(); err == nil {
		t.Fatal("Close lost a buffered record without an error")
	}
}

// FlushAlong with no grace syncs the records up to its seq (those buffered with them go
// along) and writes nothing when they are on disk already.
func TestFlushAlongSyncsOnlyWhatItIsAskedFor(t *testing.T) {
	w, path := newJournal(t)
	defer w.Close()
	a, _ := w.AppendLazy(Record{Type: StepFinished, Host: "a"})
	if err := w.FlushAlong(0, 0); err != nil || fileSize(t, path) != 0 || w.Synced() != 0 {
		t.Fatalf("FlushAlong(0, 0): %v, %d bytes, synced %d; want nothing written", err, fileSize(t, path), w.Synced())
	}
	b, _ := w.AppendLazy(Record{Type: StepFinished, Host: "b"})
	if err := w.FlushAlong(a.Seq, 0); err != nil || w.Synced() < a.Seq {
		t.Fatalf("FlushAlong(%d, 0): %v, synced %d", a.Seq, err, w.Synced())
	}
	if log, err := ReadFile(path); err != nil || len(log.Records) < 1 || log.Records[0].Host != "a" {
		t.Fatalf("after FlushAlong(%d, 0) the file holds %+v (%v)", a.Seq, log, err)
	}
	size := fileSize(t, path)
	if err := w.FlushAlong(a.Seq, 0); err != nil || fileSize(t, path) != size {
		t.Fatalf("FlushAlong of records on disk wrote: %v, %d → %d bytes", err, size, fileSize(t, path))
	}
	if err := w.FlushAlong(b.Seq+5, 0); err != nil || w.Synced() != b.Seq {
		t.Fatalf("FlushAlong past the last record: %v, synced %d, want %d", err, w.Synced(), b.Seq)
	}
}

// FlushAlong rides on another goroutine's sync when one comes within its
// grace (an hour here: the test would time out, were it to wait for the
// grace), and syncs by itself when none does.
func TestFlushAlongRidesOnAnotherSync(t *testing.T) {
	w, path := newJournal(t)
	defer w.Close()
	lazy, _ := w.AppendLazy(Record{Type: StepFinished, Host: "a"})
	done := make(chan error)
	go func() { done <- w.FlushAlong(lazy.Seq, time.Hour) }()
	if fileSize(t, path) != 0 {
		t.Fatal("written before any sync")
	}
	other, err := w.Append(Record{Type: StepStarted, Host: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || w.Synced() < other.Seq {
		t.Fatalf("FlushAlong: %v, synced %d", err, w.Synced())
	}
	// No other sync: it syncs by itself once the grace is over.
	lazy, _ = w.AppendLazy(Record{Type: StepFinished, Host: "a"})
	if err := w.FlushAlong(lazy.Seq, time.Millisecond); err != nil || w.Synced() != lazy.Seq {
		t.Fatalf("FlushAlong alone: %v, synced %d, want %d", err, w.Synced(), lazy.Seq)
	}
	if log, err := ReadFile(path); err != nil || len(log.Records) != 3 {
		t.Fatalf("the file holds %+v (%v), want 3 records", log, err)
	}
}

// WriteOut writes what is buffered without syncing it (Synced stays), a
// later Flush syncs it without writing it again, and a failed write is the
// writer's sticky error.
func TestWriteOutWritesWithoutSyncing(t *testing.T) {
	w, path := newJournal(t)
	lazy, _ := w.AppendLazy(Record{Type: StepFinished, Host: "a"})
	if err := w.WriteOut(); err != nil || w.Synced() != 0 {
		t.Fatalf("WriteOut: %v, synced %d", err, w.Synced())
	}
	size := fileSize(t, path)
	if log, err := ReadFile(path); err != nil || len(log.Records) != 1 {
		t.Fatalf("after WriteOut the file holds %+v (%v)", log, err)
	}
	if err := w.Flush(); err != nil || w.Synced() != lazy.Seq || fileSize(t, path) != size {
		t.Fatalf("Flush after WriteOut: %v, synced %d, %d → %d bytes", err, w.Synced(), size, fileSize(t, path))
	}
	// A journal that cannot be written fails WriteOut, and every append after.
	w.f.Close()
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w.f = ro
	w.AppendLazy(Record{Type: StepFinished, Host: "b"})
	if err := w.WriteOut(); err == nil {
		t.Fatal("WriteOut to a file it cannot write succeeded")
	}
	if _, err := w.Append(Record{Type: StepStarted}); err == nil {
		t.Fatal("Append after a failed WriteOut succeeded")
	}
}
