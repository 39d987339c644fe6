package journal

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Writer appends records to a journal file. Append returns only once the
// record is on disk (written and fsynced). Records appended at the same
// moment by several goroutines share one fsync (group commit). After a write
// or sync error every later Append fails with that error, so the engine stops
// before its next action.
type Writer struct {
	path string
	f    *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	seq     int64  // last sequence number handed out
	synced  int64  // last sequence number known to be on disk
	buf     []byte // encoded records not yet written
	syncing bool   // a goroutine is writing and syncing
	err     error  // sticky
	now     func() time.Time
}

// Create creates a new journal file at path (mode 0600); it fails if the
// file exists.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	if err := syncDir(path); err != nil {
		f.Close()
		return nil, err
	}
	return newWriter(path, f, 0), nil
}

// OpenAppend reopens an existing journal to continue it, as resume does. A
// torn last line (a write cut off by a crash) is cut away first, so that the
// file stays valid JSON lines; the records before it are kept.
func OpenAppend(path string) (*Writer, *Log, error) {
	log, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if log.TornBytes > 0 {
		if err := os.Truncate(path, log.ValidSize); err != nil {
			return nil, nil, fmt.Errorf("cut torn journal tail: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("sync journal: %w", err)
	}
	return newWriter(path, f, log.LastSeq()), log, nil
}

func newWriter(path string, f *os.File, seq int64) *Writer {
	w := &Writer{path: path, f: f, seq: seq, synced: seq, now: time.Now}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// Path is the journal file's path.
func (w *Writer) Path() string { return w.path }

// Append sets r's Seq and Time, writes it and fsyncs it. It returns r as
// written.
func (w *Writer) Append(r Record) (Record, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return r, w.err
	}
	w.seq++
	r.Seq = w.seq
	r.Time = w.now().UTC()
	line, err := json.Marshal(r)
	if err != nil {
		w.seq--
		return r, fmt.Errorf("encode journal record: %w", err)
	}
	w.buf = append(w.buf, line...)
	w.buf = append(w.buf, '\n')
	mine := r.Seq
	for w.synced < mine && w.err == nil {
		if w.syncing {
			w.cond.Wait()
			continue
		}
		// Become the leader: write everything buffered so far in one go.
		w.syncing = true
		buf, upto := w.buf, w.seq
		w.buf = nil
		w.mu.Unlock()
		_, err := w.f.Write(buf)
		if err == nil {
			err = w.f.Sync()
		}
		w.mu.Lock()
		w.syncing = false
		if err != nil {
			w.err = fmt.Errorf("journal %s: %w", w.path, err)
		} else {
			w.synced = upto
		}
		w.cond.Broadcast()
	}
	return r, w.err
}

// Err reports the sticky error, if a write failed.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close closes the file. Appends after Close fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = fmt.Errorf("journal %s: closed", w.path)
	}
	return w.f.Close()
}

// syncDir fsyncs the directory holding path, so a new file's entry survives a
// crash.
func syncDir(path string) error {
	d, err := os.Open(dirOf(path))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dirOf(path), err)
	}
	return nil
}
