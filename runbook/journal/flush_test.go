package journal

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestFlushWritesLazyRecords: Flush puts what AppendLazy buffered on disk,
// and costs nothing when nothing is buffered.
func TestFlushWritesLazyRecords(t *testing.T) {
	w, path := newJournal(t)
	defer w.Close()
	if _, err := w.Append(Record{Type: RunStarted}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AppendLazy(Record{Type: StepFinished}); err != nil {
		t.Fatal(err)
	}
	if log, _ := ReadFile(path); len(log.Records) != 1 {
		t.Fatalf("before Flush: %d records on disk, want 1", len(log.Records))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if log, _ := ReadFile(path); len(log.Records) != 2 || log.Records[1].Type != StepFinished {
		t.Fatalf("after Flush: %+v", log.Records)
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush with nothing buffered: %v", err)
	}
}

// TestFlushReportsAFailedWrite: a lazily buffered record that cannot be
// written (a full disk: /dev/full) fails Flush, and the writer stays
// failed, naming the journal and the cause.
func TestFlushReportsAFailedWrite(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	w := newWriter("/dev/full", f, 0)
	defer w.Close()
	if _, err := w.AppendLazy(Record{Type: StepFinished}); err != nil {
		t.Fatalf("AppendLazy only buffers: %v", err)
	}
	err = w.Flush()
	if err == nil || !strings.Contains(err.Error(), "journal: write /dev/full") || !strings.Contains(err.Error(), syscall.ENOSPC.Error()) {
		t.Fatalf("Flush: %v, want the journal and %q", err, syscall.ENOSPC.Error())
	}
	if _, err := w.Append(Record{Type: Message}); err == nil {
		t.Fatal("Append after a failed write succeeded")
	}
}
