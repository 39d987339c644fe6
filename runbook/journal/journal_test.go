package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendConcurrentIsOrderedAndDurable(t *testing.T) {
	w, path := newJournal(t)
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := w.Append(Record{Type: StepFinished, Host: fmt.Sprintf("h%d", i)}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	log, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) != n || log.TornBytes != 0 {
		t.Fatalf("got %d records, torn %d; want %d, 0", len(log.Records), log.TornBytes, n)
	}
	seen := map[string]bool{}
	for i, r := range log.Records {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		seen[r.Host] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct hosts, want %d", len(seen), n)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v, want 0600", info.Mode().Perm())
	}
}

func TestTornTailIsCutOnResume(t *testing.T) {
	w, path := newJournal(t)
	for i := 0; i < 3; i++ {
		if _, err := w.Append(Record{Type: Message, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"time":"2026-11-27T00:00:00Z","type":"step_fin`)
	f.Close()

	log, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Records) != 3 || log.TornBytes == 0 {
		t.Fatalf("records %d torn %d", len(log.Records), log.TornBytes)
	}
	w2, log2, err := OpenAppend(path)
	if err != nil {
		t.Fatal(err)
	}
	if log2.LastSeq() != 3 {
		t.Fatalf("last seq %d", log2.LastSeq())
	}
	r, err := w2.Append(Record{Type: RunResumed})
	if err != nil || r.Seq != 4 {
		t.Fatalf("append after torn tail: seq %d err %v", r.Seq, err)
	}
	w2.Close()
	log3, err := ReadFile(path)
	if err != nil || len(log3.Records) != 4 || log3.TornBytes != 0 {
		t.Fatalf("after resume: %v records %d torn %d", err, len(log3.Records), log3.TornBytes)
	}
}

func TestBadLineInTheMiddleIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	body := `{"seq":1,"time":"2026-11-27T00:00:00Z","type":"message"}
not json
{"seq":2,"time":"2026-11-27T00:00:00Z","type":"message"}
`
	os.WriteFile(path, []byte(body), 0o600)
	_, err := ReadFile(path)
	if err == nil || !strings.Contains(err.Error(), path+":2:1: bad journal record") {
		t.Fatalf("err = %v", err)
	}
	body = `{"seq":1,"time":"2026-11-27T00:00:00Z","type":"message"}
{"seq":3,"time":"2026-11-27T00:00:00Z","type":"message"}
`
	os.WriteFile(path, []byte(body), 0o600)
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), "seq 3, want 2") {
		t.Fatalf("gap not detected: %v", err)
	}
}

func TestWriteErrorIsSticky(t *testing.T) {
	w, _ := newJournal(t)
	w.f.Close() // make every write fail, as a full or vanished disk would
	if _, err := w.Append(Record{Type: Message}); err == nil {
		t.Fatal("append on a broken file succeeded")
	}
	_, err := w.Append(Record{Type: Message})
	if err == nil || w.Err() == nil || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second append: %v", err)
	}
}

func TestRunDirs(t *testing.T) {
	state := t.TempDir()
	id := NewRunID("crio-upgrade", time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC))
	if !strings.HasPrefix(id, "20261127-101500-crio-upgrade-") || !ValidRunID(id) {
		t.Fatalf("id %q", id)
	}
	dir, err := CreateRunDir(state, id)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(dir)
	if info.Mode().Perm() != 0o700 {
		t.Fatalf("run dir mode %v", info.Mode().Perm())
	}
	if _, err := FindRun(state, id); err == nil {
		t.Fatal("run without journal found")
	}
	os.WriteFile(filepath.Join(dir, JournalFile), nil, 0o600)
	if got, err := FindRun(state, id); err != nil || got != dir {
		t.Fatalf("FindRun = %q, %v", got, err)
	}
	if _, err := FindRun(state, "../../etc"); err == nil {
		t.Fatal("path-like run id accepted")
	}
	ids, _ := ListRuns(state)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("ListRuns = %v", ids)
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), JournalFile))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := w.Append(Record{Type: StepFinished, Host: "worker-1", Stdout: "ok"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestReadEachHandsOverWhatReadFileReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	body := `{"seq":1,"time":"2026-11-27T00:00:00Z","type":"run_started","run_id":"r"}
{"seq":2,"time":"2026-11-27T00:00:01Z","type":"message","text":"a"}
{"seq":3,"time":"2026-11-27T00:00:02Z","type":"message","text":"b"}
{"seq":4,"time":"2026-11-27T00:00:03Z","type":"step_fin`
	os.WriteFile(path, []byte(body), 0o600)
	log, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var each []Record
	if err := ReadEach(path, func(r Record) error { each = append(each, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(each, log.Records) || len(each) != 3 {
		t.Fatalf("ReadEach: %+v\nReadFile: %+v", each, log.Records)
	}
	stop := errors.New("enough")
	n := 0
	err = ReadEach(path, func(Record) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("fn's error: got %v after %d records, want it as it is after 1", err, n)
	}
	os.WriteFile(path, []byte("not json\n"+body), 0o600)
	if err := ReadEach(path, func(Record) error { return nil }); err == nil || !strings.Contains(err.Error(), path+":1:1: bad journal record") {
		t.Errorf("bad first line: %v", err)
	}
}
